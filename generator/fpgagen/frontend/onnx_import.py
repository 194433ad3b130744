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


#: ONNX IR versions fpgagen reads (IR 3 introduced opset imports; 10 is what the onnx
#: releases that define opset 21 write).
IR_VERSIONS = (3, 10)
#: Versions of the default ONNX opset (``ai.onnx``) whose semantics fpgagen implements for
#: the ops of :data:`SUPPORTED_OPS` (TopK takes k as an input from 10 on).
ONNX_OPSETS = (10, 21)
#: Elements of any one tensor fpgagen accepts (a larger tensor is refused, not attempted).
MAX_ELEMENTS = 1 << 26


def _read(path: Path):
    import onnx
    from onnx import numpy_helper

    if not path.exists():
        raise FpgagenError(f"{path}: no such file")
    if path.is_dir():
        raise FpgagenError(f"{path}: is a directory, expected an .onnx model file")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as e:  # onnx raises DecodeError and others
        raise FpgagenError(
            f"{path}: not an ONNX model ({type(e).__name__}); export it with "
            "brevitas.export.export_qonnx"
        ) from None
    if len(model.graph.node) == 0:
        raise FpgagenError(f"{path}: not an ONNX model (no graph nodes)")
    _check_versions(path, model)
    _load_external(path, model)
    return model, numpy_helper


def _check_versions(path: Path, model) -> None:
    ir = model.ir_version
    if not IR_VERSIONS[0] <= ir <= IR_VERSIONS[1]:
        raise UnsupportedModelError(
            f"{path}: ONNX IR version {ir} is not supported; fpgagen reads IR versions "
            f"{IR_VERSIONS[0]}..{IR_VERSIONS[1]} (re-export with an onnx/brevitas that writes "
            "one of them)"
        )
    default = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")]
    if not default:
        raise UnsupportedModelError(
            f"{path}: the model imports no default ONNX opset (ai.onnx); re-export it"
        )
    v = default[0]
    if not ONNX_OPSETS[0] <= v <= ONNX_OPSETS[1]:
        raise UnsupportedModelError(
            f"{path}: ONNX opset {v} is not supported; fpgagen implements opsets "
            f"{ONNX_OPSETS[0]}..{ONNX_OPSETS[1]} (export with opset_version in that range)"
        )


def _load_external(path: Path, model) -> None:
    """Load tensor data stored beside the model; a missing data file is named as such."""
    from onnx import TensorProto
    from onnx.external_data_helper import load_external_data_for_model

    ext = [t for t in model.graph.initializer if t.data_location == TensorProto.EXTERNAL]
    if not ext:
        return
    base = path.resolve().parent
    for t in ext:
        info = {e.key: e.value for e in t.external_data}
        loc = info.get("location", "")
        f = (base / loc).resolve()
        if not loc or Path(loc).is_absolute() or base not in f.parents:
            raise UnsupportedModelError(
                f"{path}: tensor {t.name!r} points to external data {loc!r} outside the "
                "model's folder; keep the data file next to the model"
            )
        if not f.is_file():
            raise FpgagenError(
                f"{path}: the external data file {loc!r} of tensor {t.name!r} is missing; "
                "copy it next to the model (or save the model with its data embedded)"
            )
    try:
        load_external_data_for_model(model, str(base))
    except Exception as e:
        raise FpgagenError(
            f"{path}: cannot read the external tensor data ({type(e).__name__}: "
            f"{' '.join(str(e).split())[:120]})"
        ) from None


def _tensor_array(path: Path, t, numpy_helper) -> np.ndarray:
    """An initializer or Constant value as a real numeric numpy array."""
    try:
        a = numpy_helper.to_array(t).copy()
    except Exception as e:
        raise UnsupportedModelError(
            f"{path}: tensor {t.name!r} cannot be read ({type(e).__name__}: "
            f"{' '.join(str(e).split())[:100]}); the model file is damaged"
        ) from None
    if a.dtype.kind not in "biuf":
        raise UnsupportedModelError(
            f"{path}: tensor {t.name!r} has data type {a.dtype} (not real numbers); fpgagen "
            "needs float or integer tensors"
        )
    if a.size > MAX_ELEMENTS:
        raise UnsupportedModelError(
            f"{path}: tensor {t.name!r} has {a.size} elements; at most {MAX_ELEMENTS} are supported"
        )
    return a


def _check_finite(where: str, name: str, a) -> None:
    a = np.asarray(a)
    if a.dtype.kind == "f":
        bad = ~np.isfinite(a)
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0]) if a.ndim else ()
            raise UnsupportedModelError(
                f"{where}: tensor {name!r} holds {int(bad.sum())} non-finite value(s) (first "
                f"{a[idx]} at index {idx}); every number that reaches the hardware (weights, "
                "scales, batch-norm statistics) must be finite"
            )


def _check_structure(path: Path, g, consts) -> list:
    """``(name, node)`` in topological order; refuses undefined tensors, tensors produced
    twice, cycles, unproduced graph outputs and repeated node names, naming node and tensor."""
    nodes = list(g.node)
    names = [on.name or f"{on.op_type}_{i}" for i, on in enumerate(nodes)]
    seen = {}
    for i, n in enumerate(names):
        if n in seen:
            raise UnsupportedModelError(
                f"{path}: node name {n!r} is used by nodes #{seen[n]} and #{i}; node names "
                "must be unique (rename one)"
            )
        seen[n] = i
    inputs = {i.name for i in g.input}
    producer = {}
    for i, on in enumerate(nodes):
        for o in on.output:
            if not o:
                continue
            if o in producer:
                raise UnsupportedModelError(
                    f"{path}: tensor {o!r} is produced by both node {names[producer[o]]!r} and "
                    f"node {names[i]!r}; every tensor must have one producer"
                )
            if o in consts or o in inputs:
                what = "an initializer" if o in consts else "a graph input"
                raise UnsupportedModelError(
                    f"{path}: node {names[i]!r} writes tensor {o!r}, which is already "
                    f"{what}; every tensor must have one producer"
                )
            producer[o] = i
    for i, on in enumerate(nodes):
        for t in on.input:
            if t and t not in producer and t not in consts and t not in inputs:
                raise UnsupportedModelError(
                    f"{path}: node {names[i]!r} (op {on.op_type}) uses tensor {t!r}, which no "
                    "node, initializer or graph input defines"
                )
    for o in g.output:
        if o.name not in producer and o.name not in consts and o.name not in inputs:
            raise UnsupportedModelError(
                f"{path}: graph output {o.name!r} is produced by no node; it must be the "
                "output of a node"
            )
    # Kahn's algorithm (keeps the file's order when it is already topological)
    deps = [{producer[t] for t in on.input if t in producer} for on in nodes]
    done, order = set(), []
    grew = True
    while grew and len(order) < len(nodes):
        grew = False
        for i in range(len(nodes)):
            if i not in done and deps[i] <= done:
                done.add(i)
                order.append(i)
                grew = True
    if len(order) < len(nodes):
        # walk back along unresolved inputs until a node repeats: that is a cycle
        cur, trail = next(i for i in range(len(nodes)) if i not in done), []
        while cur not in trail:
            trail.append(cur)
            cur = min(d for d in deps[cur] if d not in done)
        cyc = trail[trail.index(cur) :]  # each node depends on the next one
        a, b = cyc[0], cyc[1] if len(cyc) > 1 else cyc[0]
        tensor = next(t for t in nodes[a].input if producer.get(t) == b)
        loop = [names[i] for i in reversed(cyc)] + [names[cyc[-1]]]
        raise UnsupportedModelError(
            f"{path}: the graph has a cycle: "
            + " -> ".join(repr(n) for n in loop)
            + f" (node {names[a]!r} reads tensor {tensor!r} of node {names[b]!r}); an ONNX "
            "graph must be acyclic"
        )
    return [(names[i], nodes[i]) for i in order]


def load_model(path) -> Graph:
    """Load, clean and check a QONNX model; returns the IR graph."""
    path = Path(path)
    model, numpy_helper = _read(path)
    g = model.graph
    consts = {t.name: _tensor_array(path, t, numpy_helper) for t in g.initializer}
    const_outs = {on.output[0] for on in g.node if on.op_type == "Constant" and on.output}
    ordered = _check_structure(path, g, set(consts) | const_outs)
    nodes = []
    for name, on in ordered:
        attrs = _attrs(on)
        if on.op_type == "Constant":
            if "value" not in attrs or len(on.output) != 1:
                raise UnsupportedModelError(
                    f"{path}: node {name!r} (op Constant) uses an attribute other than 'value'"
                )
            consts[on.output[0]] = _tensor_array(path, attrs["value"], numpy_helper)
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
        if not on.output or (len(on.output) != 1 and on.op_type != "BatchNormalization"):
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
    dims = _input_dims(path, in_vi)
    graph = Graph(nodes=nodes, inputs=inputs, outputs=outputs, consts=consts, source=str(path))
    graph.shapes[inputs[0]] = tuple(dims)
    _check_ops(graph)
    _check_attr_names(graph, model)
    _check_values(graph)
    fold_constants(graph)
    _check_ops(graph, after_folding=True)
    _check_folded(graph)
    _drop_dead_nodes(graph)
    infer_shapes(graph)
    return graph


def _input_dims(path: Path, vi) -> list:
    """The input's shape (batch 1; unknown dims count as 1); a numeric type is required."""
    from onnx import TensorProto

    tt = vi.type.tensor_type
    numeric = {
        TensorProto.FLOAT,
        TensorProto.DOUBLE,
        TensorProto.FLOAT16,
        TensorProto.BFLOAT16,
        TensorProto.INT8,
        TensorProto.UINT8,
        TensorProto.INT16,
        TensorProto.UINT16,
        TensorProto.INT32,
        TensorProto.INT64,
    }
    if not vi.type.HasField("tensor_type") or tt.elem_type not in numeric:
        name = TensorProto.DataType.Name(tt.elem_type) if tt.elem_type else "undefined"
        raise UnsupportedModelError(
            f"{path}: graph input {vi.name!r} has type {name}; fpgagen needs a real numeric "
            "tensor (float)"
        )
    dims = [d.dim_value if d.dim_value > 0 else 1 for d in tt.shape.dim]
    if int(np.prod(dims, dtype=np.float64)) > MAX_ELEMENTS:
        raise UnsupportedModelError(
            f"{path}: graph input {vi.name!r} has shape {dims}, more than {MAX_ELEMENTS} "
            "elements; that is not a network fpgagen can build"
        )
    return dims


_QUANT_OPS = ("Quant", "BipolarQuant", "Trunc")


def _check_attr_names(graph: Graph, model) -> None:
    """Attributes of standard ONNX ops must be attributes of that op in the model's opset
    (an unknown one would be ignored silently)."""
    from onnx import defs

    opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    for n in graph.nodes:
        if n.domain not in ("", "ai.onnx") or not n.attrs:
            continue
        try:
            schema = defs.get_schema(n.op_type, opset, "")
        except Exception:
            continue  # an op unknown to ONNX is refused by _check_ops
        unknown = sorted(set(n.attrs) - set(schema.attributes))
        if unknown:
            raise UnsupportedModelError(
                f"{graph.where(n)}: {unknown[0]!r} is not an attribute of {n.op_type} in ONNX "
                f"opset {opset} (its attributes: {', '.join(sorted(schema.attributes)) or 'none'})"
            )


def _check_values(graph: Graph) -> None:
    """Every constant a node uses is finite; quantizer parameters and batch-norm statistics
    are in range (positive scales, known rounding modes, variances >= 0)."""
    from .float_exec import ROUNDING

    for n in graph.nodes:
        for t in n.inputs:
            if t in graph.consts:
                _check_finite(graph.where(n), t, graph.consts[t])
    for n in graph.nodes:
        c = lambda i, n=n: graph.consts.get(n.inputs[i]) if len(n.inputs) > i else None  # noqa: E731
        if n.op_type in _QUANT_OPS:
            rm = n.attrs.get("rounding_mode", "ROUND" if n.op_type == "Quant" else "FLOOR")
            if n.op_type != "BipolarQuant" and (
                not isinstance(rm, str) or rm.upper() not in ROUNDING
            ):
                raise UnsupportedModelError(
                    f"{graph.where(n)}: unknown rounding_mode {rm!r}; allowed: "
                    f"{', '.join(ROUNDING)}"
                )
            for a in ("signed", "narrow"):
                if a in n.attrs and n.attrs[a] not in (0, 1):
                    raise UnsupportedModelError(
                        f"{graph.where(n)}: attribute {a}={n.attrs[a]!r}; allowed: 0 or 1"
                    )
            need = {"Quant": 4, "BipolarQuant": 2, "Trunc": 5}[n.op_type]
            if len([i for i in n.inputs if i]) < need:
                raise UnsupportedModelError(
                    f"{graph.where(n)}: has {len(n.inputs)} inputs; {n.op_type} needs {need}"
                )
            for i, what in ((1, "scale"), (4, "output scale")):
                v = c(i) if i == 1 or (n.op_type == "Trunc" and len(n.inputs) == 6) else None
                if v is not None and np.any(np.asarray(v) == 0):
                    raise UnsupportedModelError(
                        f"{graph.where(n)}: {what} {n.inputs[i]!r} has a zero value; "
                        "quantizer scales must be nonzero (Brevitas exports positive scales)"
                    )
            for i in (3, 4, 5) if n.op_type == "Trunc" else (3,) if n.op_type == "Quant" else ():
                v = c(i)
                if v is None or (n.op_type == "Trunc" and i == 4 and len(n.inputs) == 6):
                    continue
                v = np.asarray(v)
                if v.size != 1:
                    raise UnsupportedModelError(
                        f"{graph.where(n)}: bit width {n.inputs[i]!r} has {v.size} values; "
                        "give one bit width"
                    )
                b = float(v.ravel()[0])
                if not (b == int(b) and 1 <= b <= 32):
                    raise UnsupportedModelError(
                        f"{graph.where(n)}: bit width {b:g} is not supported; use an integer "
                        "bit width of 1..32"
                    )
        if n.op_type == "BatchNormalization":
            eps = n.attrs.get("epsilon", 1e-5)
            if not (isinstance(eps, (int, float)) and np.isfinite(eps) and eps >= 0):
                raise UnsupportedModelError(
                    f"{graph.where(n)}: epsilon {eps!r} must be a finite number >= 0"
                )
            var = c(4)
            if var is not None and np.any(np.asarray(var, np.float64) + eps <= 0):
                k = int(np.argmin(np.asarray(var)))
                raise UnsupportedModelError(
                    f"{graph.where(n)}: variance {n.inputs[4]!r} is {np.asarray(var).ravel()[k]:g}"
                    f" for channel {k}; batch-norm variances must be >= 0 (with epsilon > 0)"
                )


def _drop_dead_nodes(graph: Graph) -> None:
    """Remove nodes the graph output does not depend on; refuse an output that does not
    depend on the input at all (it folded to a constant)."""
    out = graph.outputs[0]
    if out in graph.consts or out in graph.inputs:
        what = "is a constant" if out in graph.consts else "is the graph input itself"
        raise UnsupportedModelError(
            f"{graph.source}: the graph output {out!r} {what} (it does not depend on the input "
            f"{graph.inputs[0]!r} through any node); there is no network to build"
        )
    live, keep = {out}, []
    for n in reversed(graph.nodes):
        if any(o in live for o in n.outputs):
            keep.append(n)
            live.update(i for i in n.inputs if i)
    if graph.inputs[0] not in live:
        raise UnsupportedModelError(
            f"{graph.source}: the graph output {out!r} does not depend on the input "
            f"{graph.inputs[0]!r}; there is no network to build"
        )
    graph.nodes = keep[::-1]


def _check_folded(graph: Graph) -> None:
    """Constants made by folding (weights through their quantizers...) are finite."""
    for n in graph.nodes:
        for t in n.inputs:
            if t in graph.consts:
                _check_finite(graph.where(n), t, graph.consts[t])


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
    """Record the shape of every tensor by executing the graph once on zeros; a node that
    cannot run, or that makes an empty or non-finite tensor, is named."""
    inp = graph.inputs[0]
    ctx = dict(graph.consts)
    ctx[inp] = np.zeros(graph.shapes[inp], dtype=np.float32)
    for n in graph.nodes:
        args = [ctx[i] for i in n.inputs if i != ""]
        try:
            with np.errstate(all="ignore"):
                out = float_exec.run_node(n, args)
        except FpgagenError:
            raise
        except MemoryError:
            raise UnsupportedModelError(
                f"{graph.where(n)}: its output is too large to compute; check its shapes"
            ) from None
        except Exception as e:
            shapes = ", ".join(f"{t} {tuple(np.shape(ctx[t]))}" for t in n.inputs if t and t in ctx)
            raise UnsupportedModelError(
                f"{graph.where(n)}: shapes cannot be inferred ({type(e).__name__}: "
                f"{' '.join(str(e).split())[:160]}; inputs {shapes})"
            ) from None
        out = np.asarray(out)
        if out.size == 0:
            raise UnsupportedModelError(
                f"{graph.where(n)}: its output {n.outputs[0]!r} is empty (shape {out.shape}); "
                "check kernel sizes, strides and pads against the input size"
            )
        if out.size > MAX_ELEMENTS:
            raise UnsupportedModelError(
                f"{graph.where(n)}: its output {n.outputs[0]!r} has shape {out.shape}, more "
                f"than {MAX_ELEMENTS} elements"
            )
        ctx[n.outputs[0]] = out
    for k, v in ctx.items():
        if k not in graph.consts:
            graph.shapes[k] = tuple(np.shape(v))
