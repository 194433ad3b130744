"""Read a QONNX model (as exported by Brevitas) into the fpgagen IR.

``load_model`` checks that the file is an ONNX model, converts it to :class:`~fpgagen.ir.Graph`,
folds every node whose inputs are all constant (weights through their quantizers, TensorNorm
statistics...), checks each remaining op against :data:`SUPPORTED_OPS` and records the shape
of every tensor (by executing the graph once on zeros).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..datatypes import BIPOLAR, TERNARY, int_type, uint_type
from ..errors import FpgagenError, UnsupportedModelError
from ..ir import Graph, Node, QuantizedConst
from . import float_exec

__all__ = ["SUPPORTED_OPS", "load_model"]

#: Ops accepted on the non-constant part of a graph.
SUPPORTED_OPS = (
    "Quant",
    "BipolarQuant",
    "Trunc",
    "MatMul",
    "Gemm",
    "Conv",
    "BatchNormalization",
    "Relu",
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "TopK",
    "ArgMax",
    "Mul",
    "Add",
    "Sub",
    "Div",
    "Neg",
    "Identity",
    "Reshape",
    "Flatten",
    "Transpose",
)
#: Ops accepted when all their inputs are constant (folded at import).
CONST_ONLY_OPS = ("Pow", "Sqrt", "Log", "Ceil", "Floor")


def _attrs(onode) -> dict:
    from onnx import helper

    out = {}
    for a in onode.attribute:
        v = helper.get_attribute_value(a)
        if isinstance(v, bytes):
            v = v.decode()
        elif isinstance(v, list):
            v = [x.decode() if isinstance(x, bytes) else x for x in v]
        out[a.name] = v
    return out


def _read(path: Path):
    import onnx
    from onnx import numpy_helper

    if not path.exists():
        raise FpgagenError(f"{path}: no such file")
    if path.is_dir():
        raise FpgagenError(f"{path}: is a directory, expected an .onnx model file")
    try:
        model = onnx.load(str(path))
    except Exception as e:  # onnx raises DecodeError and others
        raise FpgagenError(
            f"{path}: not an ONNX model ({type(e).__name__}); export it with "
            "brevitas.export.export_qonnx"
        ) from None
    if len(model.graph.node) == 0:
        raise FpgagenError(f"{path}: not an ONNX model (no graph nodes)")
    return model, numpy_helper


def load_model(path) -> Graph:
    """Load, clean and check a QONNX model; returns the IR graph."""
    path = Path(path)
    model, numpy_helper = _read(path)
    g = model.graph
    consts = {t.name: numpy_helper.to_array(t).copy() for t in g.initializer}
    nodes = []
    for i, on in enumerate(g.node):
        name = on.name or f"{on.op_type}_{i}"
        attrs = _attrs(on)
        if on.op_type == "Constant":
            if "value" not in attrs:
                raise UnsupportedModelError(
                    f"{path}: node {name!r} (op Constant) uses an attribute other than 'value'"
                )
            consts[on.output[0]] = numpy_helper.to_array(attrs["value"]).copy()
            continue
        if on.op_type == "TopK" and len(on.output) == 2:
            # values and indices: fpgagen computes the indices (label select)
            used = {i for n in g.node for i in n.input} | {o.name for o in g.output}
            if on.output[0] in used:
                raise UnsupportedModelError(
                    f"{path}: node {name!r} (op TopK): only the indices output may be used"
                )
            nodes.append(Node("TopK", name, list(on.input), [on.output[1]], attrs, on.domain))
            continue
        if len(on.output) != 1 and on.op_type != "BatchNormalization":
            raise UnsupportedModelError(
                f"{path}: node {name!r} (op {on.op_type}) has {len(on.output)} outputs; "
                "only single-output nodes are supported"
            )
        nodes.append(Node(on.op_type, name, list(on.input), [on.output[0]], attrs, on.domain))
    inputs = [i.name for i in g.input if i.name not in consts]
    if len(inputs) != 1:
        raise UnsupportedModelError(
            f"{path}: model has {len(inputs)} inputs {inputs}; exactly one is supported"
        )
    outputs = [o.name for o in g.output]
    if len(outputs) != 1:
        raise UnsupportedModelError(
            f"{path}: model has {len(outputs)} outputs; exactly one is supported"
        )
    in_vi = g.input[[i.name for i in g.input].index(inputs[0])]
    dims = [d.dim_value if d.dim_value > 0 else 1 for d in in_vi.type.tensor_type.shape.dim]
    graph = Graph(nodes=nodes, inputs=inputs, outputs=outputs, consts=consts, source=str(path))
    graph.shapes[inputs[0]] = tuple(dims)
    _check_ops(graph)
    fold_constants(graph)
    _check_ops(graph, after_folding=True)
    infer_shapes(graph)
    return graph


def _check_ops(graph: Graph, after_folding: bool = False) -> None:
    allowed = SUPPORTED_OPS if after_folding else SUPPORTED_OPS + CONST_ONLY_OPS
    for n in graph.nodes:
        if n.domain not in (
            "",
            "ai.onnx",
            "qonnx.custom_op.general",
            "onnx.brevitas",
            "finn.custom_op.general",
        ):
            raise UnsupportedModelError(f"{graph.where(n)}: domain {n.domain!r} is not supported")
        if n.op_type not in allowed:
            extra = " on non-constant inputs" if n.op_type in CONST_ONLY_OPS else ""
            raise UnsupportedModelError(
                f"{graph.where(n)} is not supported{extra}; supported ops: "
                f"{', '.join(SUPPORTED_OPS)}"
            )


def fold_constants(graph: Graph) -> bool:
    """Evaluate and remove every node whose inputs are all constants. Returns True if any."""
    changed = False
    keep = []
    for n in graph.nodes:
        ins = [i for i in n.inputs if i != ""]
        if ins and all(i in graph.consts for i in ins):
            try:
                graph.consts[n.outputs[0]] = float_exec.run_node(n, [graph.consts[i] for i in ins])
                _track_quantized(graph, n)
            except FpgagenError:
                raise
            except Exception as e:
                raise UnsupportedModelError(
                    f"{graph.where(n)}: cannot fold constant inputs ({e})"
                ) from None
            changed = True
        else:
            keep.append(n)
    graph.nodes = keep
    return changed


def _quant_dtype(graph: Graph, n: Node, bits: float, signed: bool, narrow: bool):
    if n.op_type == "BipolarQuant" or (bits == 1 and signed):
        return BIPOLAR
    if bits != int(bits) or (not 2 <= bits <= 32 and signed) or not 1 <= bits <= 32:
        raise UnsupportedModelError(
            f"{graph.where(n)}: bit width {bits} is not supported; "
            "use an integer bit width of 1..32"
        )
    bits = int(bits)
    if signed and narrow and bits == 2:
        return TERNARY
    return int_type(bits) if signed else uint_type(bits)


def _track_quantized(graph: Graph, n: Node) -> None:
    """Remember integer codes of folded quantizers, through layout ops."""
    out = n.outputs[0]
    if n.op_type in ("Quant", "BipolarQuant"):
        x = graph.consts[n.inputs[0]]
        scale = np.broadcast_to(graph.consts[n.inputs[1]], x.shape).astype(np.float64)
        if n.op_type == "BipolarQuant":
            codes = np.where(x >= 0, 1, -1).astype(np.int64)
            zp = np.zeros(x.shape)
            dtype = BIPOLAR
        else:
            zp = np.broadcast_to(graph.consts[n.inputs[2]], x.shape).astype(np.float64)
            bits = float(np.asarray(graph.consts[n.inputs[3]]).ravel()[0])
            a = n.attrs
            codes = float_exec.quant_codes(
                x.astype(np.float32),
                graph.consts[n.inputs[1]],
                graph.consts[n.inputs[2]],
                bits,
                bool(a.get("signed", 1)),
                bool(a.get("narrow", 0)),
                a.get("rounding_mode", "ROUND"),
            ).astype(np.int64)
            codes = np.broadcast_to(codes, x.shape)
            dtype = _quant_dtype(graph, n, bits, bool(a.get("signed", 1)), bool(a.get("narrow", 0)))
        graph.qconsts[out] = QuantizedConst(np.array(codes), np.array(scale), np.array(zp), dtype)
    elif (
        n.op_type in ("Transpose", "Reshape", "Flatten", "Identity")
        and n.inputs[0] in graph.qconsts
    ):
        q = graph.qconsts[n.inputs[0]]
        extra = [graph.consts[i] for i in n.inputs[1:] if i]
        f = lambda t: float_exec.run_node(n, [t] + extra)  # noqa: E731
        graph.qconsts[out] = QuantizedConst(
            f(q.codes.astype(np.float32)).astype(np.int64),
            f(q.scale).astype(np.float64),
            f(q.zeropt).astype(np.float64),
            q.dtype,
        )


def infer_shapes(graph: Graph) -> None:
    """Record the shape of every tensor by executing the graph once on zeros."""
    inp = graph.inputs[0]
    x = np.zeros(graph.shapes[inp], dtype=np.float32)
    try:
        ctx = float_exec.execute(graph, {inp: x})
    except FpgagenError:
        raise
    except Exception as e:
        raise UnsupportedModelError(
            f"{graph.source}: shapes cannot be inferred ({type(e).__name__}: {e})"
        ) from None
    for k, v in ctx.items():
        if k not in graph.consts:
            graph.shapes[k] = tuple(np.shape(v))
