"""The hardware dataflow: host head, a chain of hardware layers, host tail.

* The **head** runs on the host: float input pre-processing (e.g. ``2x-1``) and the first
  quantizer, giving the integer codes the accelerator consumes.
* The **layers** are the streaming hardware stages (MVAU, Thresholding, FIFO, DWC...).
* The **tail** runs on the host: whatever float arithmetic follows the last hardware layer
  (de-quantisation, a final affine such as TensorNorm), so the user gets exactly what the ONNX
  model outputs.
* A partitioned build (``--cpu-layers``, :mod:`fpgagen.video.partition`) also keeps hardware
  layers on the processor: ``cpu_head`` between the head and the accelerator, ``cpu_tail``
  between the accelerator and the tail (integer layers, golden model as everywhere).

``Dataflow.golden`` is the bit-exact integer golden model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import hostops
from .cost.model import estimate, top_glue, total_lut_band
from .datatypes import DataType
from .errors import FpgagenError
from .ir import Node

__all__ = ["Dataflow", "HostHead", "HostTail"]


@dataclass
class HostHead:
    """Float pre-processing and the input quantizer, executed per sample as in ONNX."""

    input_name: str
    input_shape: tuple  # the ONNX input shape (batch 1)
    nodes: list  # IR nodes up to (excluding) the quantizer
    consts: dict
    quant: Node  # the Quant/BipolarQuant node whose codes enter the hardware
    dtype: DataType
    channels: int

    def spec(self) -> dict:
        """The head as a :mod:`fpgagen.hostops` spec (JSON-able; constants by name)."""
        return {
            "input": self.input_name,
            "input_shape": list(self.input_shape),
            "nodes": [_node_spec(n) for n in self.nodes],
            "quant": _node_spec(self.quant),
            "channels": int(self.channels),
        }

    def run(self, x: np.ndarray) -> np.ndarray:
        """Float batch ``(N, ...)`` in the model's input layout -> codes ``(N, channels)``."""
        try:
            return hostops.run_head(x, self.spec(), self.consts)
        except hostops.HostOpsError as e:
            raise FpgagenError(str(e)) from None


@dataclass
class HostTail:
    """``y = post(float32(a * v + b))`` on the hardware output, reshaped to the ONNX output."""

    a: np.ndarray
    b: np.ndarray
    post: list  # elementwise IR nodes, evaluated in float32 like ONNX
    consts: dict
    out_shape: tuple  # ONNX output shape (batch 1)
    work_shape: tuple  # shape of the tensor the post ops see (batch 1)
    integer: bool = False  # the output is integers (class indices of a label select)

    def spec(self) -> dict:
        """The tail as a :mod:`fpgagen.hostops` spec; ``a``/``b`` are the constants
        ``"__tail_a__"``/``"__tail_b__"`` of :meth:`spec_consts`."""
        return {
            "a": "__tail_a__",
            "b": "__tail_b__",
            "post": [_node_spec(n) for n in self.post],
            "out_shape": list(self.out_shape),
            "work_shape": list(self.work_shape),
            "integer": bool(self.integer),
        }

    def spec_consts(self) -> dict:
        """Constants the tail spec reads: ``a``, ``b`` and the post nodes' constants."""
        d = {t: self.consts[t] for t in hostops.tail_const_names(self.spec())}
        d.update({"__tail_a__": np.asarray(self.a), "__tail_b__": np.asarray(self.b)})
        return d

    def run(self, v: np.ndarray) -> np.ndarray:
        return hostops.run_tail(v, self.spec(), self.spec_consts())


def _run_chain(layers, v):
    """Golden model of a chain of single-stream layers on ``(N, elements)`` integers."""
    v = np.asarray(v)
    for l in layers:
        (v,) = l.execute_streams([np.asarray(v, dtype=np.int64).reshape(v.shape[0], -1)])
        v = np.asarray(v, dtype=np.int64).reshape(v.shape[0], -1)
    return v


def _node_spec(n: Node) -> dict:
    return {
        "op": n.op_type,
        "inputs": list(n.inputs),
        "outputs": list(n.outputs),
        "attrs": dict(n.attrs),
    }


@dataclass
class Dataflow:
    """A lowered model: head, hardware layers (a chain), tail."""

    name: str
    source: str
    head: HostHead
    layers: list
    tail: HostTail
    meta: dict = field(default_factory=dict)
    cpu_head: list = field(default_factory=list)  # hardware layers run on the CPU, before
    cpu_tail: list = field(default_factory=list)  # and after the accelerator's layers

    @property
    def compute_layers(self) -> list:
        """The layers that compute (every layer but FIFOs and width converters)."""
        return [l for l in self.layers if not l.plumbing]

    def layer(self, name: str):
        for l in self.layers:
            if l.name == name:
                return l
        raise KeyError(name)

    def hw_input(self, x: np.ndarray) -> np.ndarray:
        """Host head (and CPU head layers): float inputs -> codes streamed into the accelerator."""
        return _run_chain(self.cpu_head, self.head.run(x))

    def host_tail(self, hw_out: np.ndarray) -> np.ndarray:
        """CPU tail layers and host tail: the accelerator's output integers -> ONNX outputs."""
        return self.tail.run(_run_chain(self.cpu_tail, hw_out))

    # -- graph structure ---------------------------------------------------------------------
    INPUT = "s_in"

    @property
    def output_stream(self) -> str:
        return self.layers[-1].outs[0]

    @property
    def input_layer(self):
        return self.layers[0]

    @property
    def output_layer(self):
        return self.layers[-1]

    def producer(self, stream: str):
        for l in self.layers:
            if stream in l.outs:
                return l
        return None

    def consumers(self, stream: str) -> list:
        return [l for l in self.layers if stream in l.ins]

    def check(self) -> None:
        """Internal invariants: topological order, one producer and consumer per stream."""
        seen = {self.INPUT}
        for l in self.layers:
            assert all(s in seen for s in l.ins), f"{l.name}: inputs {l.ins} not produced yet"
            for s in l.outs:
                assert s not in seen, f"stream {s} produced twice"
                seen.add(s)
        assert self.layers[0].ins == [self.INPUT]
        for s in seen - {self.output_stream}:
            assert len(self.consumers(s)) == 1, f"stream {s} has {len(self.consumers(s))} consumers"

    def run_layers(self, codes: np.ndarray, trace: dict | None = None) -> np.ndarray:
        """Golden model of the hardware: codes ``(N, C)`` -> output integers ``(N, C_out)``."""
        v = np.asarray(codes, dtype=np.int64)
        n = v.shape[0]
        vals = {self.INPUT: v.reshape(n, -1)}
        for l in self.layers:
            outs = l.execute_streams(
                [vals.pop(s) if len(self.consumers(s)) == 1 else vals[s] for s in l.ins]
            )
            for s, o in zip(l.outs, outs):
                # streams keep the layers' narrow integer dtypes (fast copies); the trace and
                # the result are int64
                vals[s] = np.asarray(o).reshape(n, -1)
                if trace is not None:
                    trace[l.name] = vals[s].astype(np.int64)
        return vals[self.output_stream].astype(np.int64)

    def golden(self, x: np.ndarray) -> dict:
        """Run head, hardware layers and tail; returns codes, hw_out and the float outputs."""
        codes = self.hw_input(x)
        hw_out = self.run_layers(codes)
        return {"codes": codes, "hw_out": hw_out, "y": self.host_tail(hw_out)}

    @property
    def in_dtype(self) -> DataType:
        return self.layers[0].in_dtype

    @property
    def out_dtype(self) -> DataType:
        return self.layers[-1].out_dtype

    def expected_cycles(self) -> int:
        """Cycles per frame in steady state: the slowest layer."""
        return max(l.expected_cycles() for l in self.layers)

    def bottleneck(self):
        return max(self.layers, key=lambda l: l.expected_cycles())

    def total_resources(self) -> dict:
        """Summed estimates of the layers, plus ``lut_glue`` (the LUTs the stitched top adds
        to its layers, :func:`fpgagen.cost.model.top_glue`) and ``lut_band`` (the half-width of
        the LUT uncertainty band, :func:`fpgagen.cost.model.total_lut_band`); the optimiser
        counts ``lut + lut_glue + lut_band`` against the board budget."""
        tot = {"lut": 0, "ff": 0, "bram18": 0, "uram": 0, "dsp": 0}
        luts = []
        for l in self.layers:
            r = estimate(l)
            luts.append(r["lut"])
            for k, v in r.items():
                tot[k] = tot.get(k, 0) + v
        tot["lut_glue"] = top_glue(self.layers)
        tot["lut_band"] = total_lut_band(self.layers, luts)
        return tot

    def to_dict(self, clock_mhz: float | None = None) -> dict:
        cyc = self.expected_cycles()
        d = {
            "name": self.name,
            "source": self.source,
            "input": {
                "name": self.head.input_name,
                "shape": list(self.head.input_shape),
                "hw_dtype": str(self.in_dtype),
                "channels": self.head.channels,
            },
            "output": {
                "shape": list(self.tail.out_shape),
                "hw_dtype": str(self.out_dtype),
                "channels": self.layers[-1].out_channels,
            },
            "expected_cycles_per_frame": cyc,
            "bottleneck": self.bottleneck().name,
            "resources": self.total_resources(),
            "layers": [l.to_dict() for l in self.layers],
        }
        if clock_mhz:
            d["clock_mhz"] = clock_mhz
            d["expected_fps"] = clock_mhz * 1e6 / cyc
        d.update(self.meta)
        return d
