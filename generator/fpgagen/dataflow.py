"""The hardware dataflow: host head, a chain of hardware layers, host tail.

* The **head** runs on the host: float input pre-processing (e.g. ``2x-1``) and the first
  quantizer, giving the integer codes the accelerator consumes.
* The **layers** are the streaming hardware stages (MVAU, Thresholding, FIFO, DWC...).
* The **tail** runs on the host: whatever float arithmetic follows the last hardware layer
  (de-quantisation, a final affine such as TensorNorm), so the user gets exactly what the ONNX
  model outputs.

``Dataflow.golden`` is the bit-exact integer golden model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .datatypes import DataType
from .errors import FpgagenError
from .frontend import float_exec
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

    def run(self, x: np.ndarray) -> np.ndarray:
        """Float batch ``(N, ...)`` in the model's input layout -> codes ``(N, channels)``."""
        x = np.asarray(x, dtype=np.float32)
        per_sample = tuple(self.input_shape[1:])
        if x.shape == tuple(self.input_shape):
            pass
        elif x.shape[1:] != per_sample:
            raise FpgagenError(
                f"input batch has shape {x.shape}; the model expects (N, "
                f"{', '.join(map(str, per_sample))}) (its input {self.input_name!r} is "
                f"{tuple(self.input_shape)})"
            )
        out = np.empty((x.shape[0], self.channels), dtype=np.int64)
        q = self.quant
        for i in range(x.shape[0]):
            ctx = dict(self.consts)
            ctx[self.input_name] = x[i : i + 1]
            for n in self.nodes:
                ctx[n.outputs[0]] = float_exec.run_node(n, [ctx[t] for t in n.inputs if t])
            v = ctx[q.inputs[0]]
            if q.op_type == "BipolarQuant":
                codes = np.where(v >= 0, 1, -1)
            else:
                a = q.attrs
                codes = float_exec.quant_codes(
                    v,
                    ctx[q.inputs[1]],
                    ctx[q.inputs[2]],
                    float(np.asarray(ctx[q.inputs[3]]).ravel()[0]),
                    bool(a.get("signed", 1)),
                    bool(a.get("narrow", 0)),
                    a.get("rounding_mode", "ROUND"),
                )
            codes = np.asarray(codes)
            if codes.ndim == 4:  # NCHW tensor -> NHWC stream
                codes = codes.transpose(0, 2, 3, 1)
            out[i] = codes.reshape(-1).astype(np.int64)
        return out


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

    def run(self, v: np.ndarray) -> np.ndarray:
        v = np.asarray(v)
        n = v.shape[0]
        if self.integer:
            return v.astype(np.int64).reshape((n,) + tuple(self.out_shape[1:]))
        ws = tuple(self.work_shape)
        if ws and ws[0] == "nhwc":  # NHWC stream of an NCHW tensor
            _, _, c, h, w = ws
            base = self.a * v.reshape(n, h, w, c).astype(np.float64) + self.b
            x = base.astype(np.float32).transpose(0, 3, 1, 2)
        else:
            base = (self.a * v.reshape(n, -1).astype(np.float64) + self.b).astype(np.float32)
            x = base.reshape((n,) + ws[1:])
        for node in self.post:
            x = float_exec.run_node(
                node, [x if t == "__x__" else self.consts[t] for t in node.inputs if t]
            )
        return x.reshape((n,) + tuple(self.out_shape[1:]))


@dataclass
class Dataflow:
    """A lowered model: head, hardware layers (a chain), tail."""

    name: str
    source: str
    head: HostHead
    layers: list
    tail: HostTail
    meta: dict = field(default_factory=dict)

    @property
    def compute_layers(self) -> list:
        return [l for l in self.layers if l.op_type not in ("FIFO", "DWC")]

    def layer(self, name: str):
        for l in self.layers:
            if l.name == name:
                return l
        raise KeyError(name)

    def hw_input(self, x: np.ndarray) -> np.ndarray:
        """Host head: float inputs -> integer codes streamed into the accelerator."""
        return self.head.run(x)

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
                vals[s] = np.asarray(o, dtype=np.int64).reshape(n, -1)
                if trace is not None:
                    trace[l.name] = vals[s]
        return vals[self.output_stream]

    def golden(self, x: np.ndarray) -> dict:
        """Run head, hardware layers and tail; returns codes, hw_out and the float outputs."""
        codes = self.hw_input(x)
        hw_out = self.run_layers(codes)
        return {"codes": codes, "hw_out": hw_out, "y": self.tail.run(hw_out)}

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
        tot = {"lut": 0, "ff": 0, "bram18": 0, "uram": 0, "dsp": 0}
        for l in self.layers:
            for k, v in l.resources().items():
                tot[k] = tot.get(k, 0) + v
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
