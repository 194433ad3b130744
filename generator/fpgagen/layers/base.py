"""Base class of hardware layers.

A hardware layer is one streaming stage of the dataflow accelerator, and the one place that
knows everything about itself: its shapes, folded shapes, stream widths and data types, its
golden model (bit-exact on integer numpy arrays), its expected cycles, its backend-neutral
hardware parameters (:meth:`HWLayer.hw_params`, which the RTL and the HLS backends both
render), its stream ports, its cost-model features (:meth:`HWLayer.cost_features`, evaluated
by :mod:`fpgagen.cost`), what it needs from its producer word by word (:meth:`HWLayer.need`,
for FIFO sizing and latency), its work for the report (:meth:`HWLayer.work`) and whether it
is plumbing. Every concrete class is registered by its ``op_type`` in :data:`LAYER_TYPES`.

Cost methods are abstract: a layer that cannot estimate itself is an error, never a silent
zero. This module imports nothing above it (docs/architecture.md): the resource estimate of
:meth:`HWLayer.resources` is the cost model that :mod:`fpgagen.cost` registers when imported.
"""

from __future__ import annotations

import abc
import re
from pathlib import Path

import numpy as np

from .. import packing
from ..datatypes import DataType
from ..errors import FoldingError, FpgagenError
from .hw import Memory, parse_names

__all__ = ["LAYER_TYPES", "HWLayer", "check_identifier", "register_cost_model"]

#: every concrete hardware layer class by its ``op_type`` (filled by class definition)
LAYER_TYPES: dict = {}
#: the resource estimator ``fn(layer) -> dict`` (registered by fpgagen.cost.model)
_COST_MODEL: list = []


def register_cost_model(fn) -> None:
    """Install the function :meth:`HWLayer.resources` calls (done by :mod:`fpgagen.cost`)."""
    _COST_MODEL[:] = [fn]


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_identifier(name: str) -> str:
    """Return ``name`` if it is a safe identifier for C++, Verilog, Tcl and paths."""
    if not _IDENT.match(name):
        raise ValueError(f"{name!r} is not a valid identifier ([A-Za-z_][A-Za-z0-9_]*)")
    return name


def sanitize(name: str) -> str:
    """Turn an arbitrary ONNX name into a safe identifier."""
    s = re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9_]", "_", name)).strip("_")
    if not s or not (s[0].isalpha() or s[0] == "_"):
        s = "n_" + s
    return s


class HWLayer(abc.ABC):
    """One streaming hardware stage.

    Streams carry ``num_vectors`` vectors of ``in_channels`` elements per frame (NHWC order:
    one vector per pixel). Words carry ``in_elems`` / ``out_elems`` elements.
    """

    op_type: str = "HWLayer"
    #: Verilog module implementing the layer (file rtl/<rtl_module>.v)
    rtl_module: str = ""
    #: a FIFO or width converter: moves words between stages, computes nothing (reports list
    #: it apart; ``Dataflow.compute_layers`` leaves it out)
    plumbing: bool = False
    #: only moves or copies input values (sample stimuli look through it for the input range)
    moves_values: bool = False
    #: only rearranges its input for the layer it feeds (padding, sliding window): the CPU/FPGA
    #: partition (:mod:`fpgagen.video.partition`) keeps it in one unit with that layer
    feeds_next: bool = False
    #: the primitive of :mod:`fpgagen.cpulayers` that runs this layer on the processor
    #: (``pad``, ``window``, ``matmul``, ``threshold``, ``pool``); None: FPGA only
    cpu_op: str | None = None

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        if "op_type" in cls.__dict__:
            prev = LAYER_TYPES.get(cls.op_type)
            if prev is not None and prev.__qualname__ != cls.__qualname__:
                raise TypeError(
                    f"layer type {cls.op_type!r} is defined twice ({prev.__module__}."
                    f"{prev.__qualname__} and {cls.__module__}.{cls.__qualname__})"
                )
            LAYER_TYPES[cls.op_type] = cls

    def __init__(self, name: str):
        self.name = check_identifier(name)

    # -- shapes and types ------------------------------------------------------------------
    in_dtype: DataType
    out_dtype: DataType
    num_vectors: int = 1

    @property
    @abc.abstractmethod
    def in_channels(self) -> int: ...

    @property
    @abc.abstractmethod
    def out_channels(self) -> int: ...

    @property
    @abc.abstractmethod
    def in_elems(self) -> int:
        """Elements per input word."""

    @property
    @abc.abstractmethod
    def out_elems(self) -> int:
        """Elements per output word."""

    @property
    def in_width(self) -> int:
        return self.in_elems * self.in_dtype.bits

    @property
    def out_width(self) -> int:
        return self.out_elems * self.out_dtype.bits

    def in_vectors(self) -> int:
        """Input vectors (pixels) per frame; differs from ``num_vectors`` for window layers."""
        return self.num_vectors

    @property
    def in_words_per_frame(self) -> int:
        return self.in_vectors() * self.in_channels // self.in_elems

    @property
    def out_words_per_frame(self) -> int:
        return self.num_vectors * self.out_channels // self.out_elems

    @property
    def lanes(self) -> int:
        """Identical copies of the layer's RTL module / HLS process side by side, each on
        ``1/lanes`` of every input and output word, in lockstep (an MVAU taking ``MMV``
        whole vectors per word); ``hw_params`` describe one lane."""
        return 1

    #: stream ports of the RTL module: input prefixes, output prefixes
    in_ports: tuple = ("s_axis",)
    out_ports: tuple = ("m_axis",)

    # -- behaviour ---------------------------------------------------------------------------
    @abc.abstractmethod
    def execute(self, x: np.ndarray) -> np.ndarray:
        """Golden model: ``(batch, in_vectors, in_channels)`` int64 -> output values."""

    def execute_reference(self, x: np.ndarray) -> np.ndarray:
        """Golden model in plain int64 arithmetic, the specification :meth:`execute` must
        meet value for value (layers with a faster :meth:`execute` override this)."""
        return np.asarray(self.execute(np.asarray(x, dtype=np.int64)), dtype=np.int64)

    def execute_streams(self, xs: list) -> list:
        """Golden model on all input streams -> all output streams (flat ``(batch, -1)``)."""
        (x,) = xs
        n = x.shape[0]
        y = self.execute(x.reshape(n, self.in_vectors(), self.in_channels))
        return [np.asarray(y).reshape(n, -1)]

    # -- costs -------------------------------------------------------------------------------
    @abc.abstractmethod
    def expected_cycles(self) -> int:
        """Cycles per frame in steady state."""

    # -- folding -----------------------------------------------------------------------------
    #: single folding parameter of the layer ("PE" or "SIMD"), stored in ``self.pe`` /
    #: ``self.simd``; it must divide :meth:`fold_total`. Layers with several parameters
    #: (MVAU) override the three folding methods.
    fold_param: str | None = None
    #: what :meth:`fold_total` counts, for error messages
    fold_what: str = "channels"

    def fold_total(self) -> int:
        return self.ch

    def folding(self) -> dict:
        """Current folding parameters (e.g. {"PE": 4, "SIMD": 8})."""
        if self.fold_param is None:
            return {}
        return {self.fold_param: getattr(self, self.fold_param.lower())}

    def folding_options(self) -> dict:
        """Allowed values of each folding parameter."""
        if self.fold_param is None:
            return {}
        return {self.fold_param: divisors(self.fold_total())}

    def folding_valid(self, **kw) -> bool:
        """Whether a combination of the values of :meth:`folding_options` can be built
        (layers whose parameters constrain each other override it)."""
        return True

    def set_folding(self, **kw) -> None:
        p = self.fold_param
        unknown = sorted(k for k in kw if k != p)
        if unknown:
            raise FoldingError(
                f"layer {self.name} ({self.op_type}) has no folding parameters "
                f"{unknown}; allowed: {p or 'none'}"
            )
        if p is not None and kw.get(p) is not None:
            check_divides(self, p, kw[p], self.fold_total(), self.fold_what)
            setattr(self, p.lower(), int(kw[p]))

    def resources(self) -> dict:
        """Resource estimate (lut, ff, bram18, uram, dsp) from the calibrated cost model
        (docs/cost_model.md); an unknown layer type is an error, never a silent zero."""
        if not _COST_MODEL:
            raise FpgagenError(
                f"layer {self.name}: no cost model is loaded; import fpgagen.cost first"
            )
        return _COST_MODEL[0](self)

    #: name of the coefficient set of the cost model (fpgagen/cost/_coef.py) this layer's
    #: features are weighted with; None: the op_type
    cost_coef: str | None = None

    @property
    def cost_band(self) -> str:
        """The row of the cost model's uncertainty band (``_coef.BAND``) this layer's
        estimate takes: its type, unless a kind of layer of the type is fitted apart."""
        return self.op_type

    def cpu_spec(self, consts: dict, prefix: str) -> dict:
        """The :mod:`fpgagen.cpulayers` spec running this layer on the processor: ``{"op":
        cpu_op, "name", ...}`` with the primitive's fields; constant arrays go into ``consts``
        under ``prefix + name + "." + field``. Layers with a ``cpu_op`` override it."""
        raise FpgagenError(f"layer {self.name}: {self.op_type} does not run on the CPU")

    def window_geometry(self) -> dict:
        """What a ``feeds_next`` layer does to the image, for the layer it feeds:
        ``{"pads": [top, left, bottom, right]}`` or ``{"kernel": [kh, kw], "stride": [sh, sw]}``;
        ``{}`` for others."""
        return {}

    def darknet_section(self, feeders: list, hwc: tuple) -> tuple[str, list, tuple]:
        """This layer, fed by ``feeders`` (its unit's ``feeds_next`` layers) from an
        ``(h, w, c)`` image, as a Darknet section of network.cfg
        (:mod:`fpgagen.video.darknet`): ``(section name, [(key, value)...], output (h, w, c))``.
        Without a Darknet counterpart: ``fpgagen_<op_type>``, shape kept, channels updated."""
        h, w, c = hwc
        return f"fpgagen_{self.op_type.lower()}", [], (h, w, self.out_channels)

    @abc.abstractmethod
    def cost_features(self, cm) -> dict:
        """Structural features of the RTL module for the cost model (docs/cost_model.md):
        ``{"lut": {feature: value}, "ff": {...}, "mem": {"bram18", "uram", "dsp"}}`` and, for
        extra hand-fitted terms, ``"group"``. ``cm`` is the cost model's toolkit
        (:mod:`fpgagen.cost.model`: ``map_memory``, ``mem_luts``, ``counter_bits``...), passed
        in so that this package never imports the cost package."""

    # -- data movement (FIFO sizing, latency) -------------------------------------------------
    def need(self) -> np.ndarray:
        """``need[j]``: input words consumed (one frame) before output word ``j`` can appear.

        Used to size the skip FIFOs of residual blocks (fpgagen.fold.fifo) and for the
        latency estimate of the report. A layer must state it; there is no safe default."""
        raise ValueError(f"no need function for {self.op_type}")

    def _need_streaming(self) -> np.ndarray:
        """Output word ``j`` needs input word ``j`` (one word in, one word out)."""
        return np.arange(1, self.out_words_per_frame + 1, dtype=np.int64)

    def _need_all(self) -> np.ndarray:
        """Every output word needs the whole input frame."""
        return np.full(self.out_words_per_frame, self.in_words_per_frame, dtype=np.int64)

    # -- report ------------------------------------------------------------------------------
    def limit_reason(self) -> str:
        """Why the layer cannot go faster than its fastest folding, for reports naming what
        binds a design (e.g. "one output vector per cycle: 784 vectors")."""
        return f"{self.expected_cycles()} cycles per frame at its fastest folding"

    def work(self) -> dict:
        """Per frame: multiply-accumulates, bit operations (MACs x weight bits x activation
        bits), weight and threshold memory bits (docs/report.md)."""
        return {"macs": 0, "bops": 0, "weight_bits": 0, "threshold_bits": 0}

    def mac_lanes(self) -> tuple[int, str]:
        """(multiply-accumulates per cycle, its folding as ``PExSIMD`` text); (0, "") for a
        layer without multiply-accumulates."""
        return 0, ""

    @property
    def stitched_pes(self) -> int:
        """Processing elements whose logic a stitched top maps differently from the layer
        out of context (the cost model's glue term, ``cost.model.top_glue``): every PE of
        every copy; 0 for a layer without PEs."""
        return 0

    # -- backends ----------------------------------------------------------------------------
    @abc.abstractmethod
    def hw_params(self) -> dict:
        """Backend-neutral hardware parameters, in order (see :mod:`fpgagen.layers.hw`).

        The one source of the Verilog parameters (``rtl_names``) and of the HLS configuration
        (``hls_names``); memories appear as :class:`~fpgagen.layers.hw.Memory` values."""

    #: Verilog parameters: ``"NAME"`` or ``"NAME=neutral"`` (see :mod:`fpgagen.layers.hw`)
    rtl_names: tuple = ()
    #: HLS configuration struct members: same syntax, or ``"NAME=memory.attr"``; None: no HLS
    #: process (e.g. a FIFO, which becomes a stream depth)
    hls_names: tuple | None = None
    #: HLS header of the library (hls_templates/fpgagen/) and function the process calls
    hls_lib: str = ""
    hls_func: str = ""
    #: Jinja2 template of the layer's HLS wrapper (hls_templates/)
    hls_template: str = "hls_layer_plain.h.j2"
    #: extra words of depth on every output stream in the HLS design (skid registers the
    #: RTL module has and the HLS process lacks)
    hls_out_slack: int = 0

    def check_hw(self) -> None:
        """Raise :class:`FpgagenError` if the parameters cannot be built in hardware (by
        default every constructible layer can)."""
        return None

    def hls_extra(self) -> dict:
        """Extra context of the layer's HLS template (comments, modes)."""
        return {}

    def max_word_bits(self) -> int:
        """Widest ap_uint word the layer's HLS process uses (besides its memories)."""
        return max(self.in_width, self.out_width)

    @property
    def buffer_depth(self) -> int | None:
        """Words of buffering if the layer is only a FIFO on its stream, else None."""
        return None

    def memories(self) -> list:
        """The layer's parameter memories (:class:`~fpgagen.layers.hw.Memory`), in order."""
        return [v for v in self.hw_params().values() if isinstance(v, Memory)]

    def rtl_params(self, mem_dir: str) -> dict:
        """Verilog parameters of the layer's module; memory files live in ``mem_dir``."""
        hw = self.hw_params()
        out = {}
        for name, key in parse_names(self.rtl_names):
            v = hw[key]
            if isinstance(v, Memory):
                v = f"{mem_dir}/{v.file(self.name)}" if v.words is not None else ""
            elif isinstance(v, (int, np.integer)):
                v = int(v)
            out[name] = v
        return out

    def write_memories(self, outdir) -> list:
        """Write memory initialisation files (one hex word per line); returns their paths."""
        paths = []
        for m in self.memories():
            if m.words is None:
                continue
            p = Path(outdir) / m.file(self.name)
            p.write_text("\n".join(packing.to_hex(m.words, m.bits)) + "\n")
            paths.append(p)
        return paths

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "type": self.op_type,
            "in_dtype": str(self.in_dtype),
            "out_dtype": str(self.out_dtype),
            "in_shape": [self.in_vectors(), self.in_channels],
            "out_shape": [self.num_vectors, self.out_channels],
            "in_width": self.in_width,
            "out_width": self.out_width,
            "folding": self.folding(),
            "expected_cycles": int(self.expected_cycles()),
            "resources": self.resources(),
        }


def divisors(n: int) -> list:
    return [d for d in range(1, n + 1) if n % d == 0]


def check_divides(layer: HWLayer, pname: str, value, total: int, what: str) -> None:
    if (
        not isinstance(value, (int, np.integer))
        or isinstance(value, bool)
        or value < 1
        or total % value
    ):
        raise FoldingError(
            f"layer {layer.name} ({layer.op_type}): {pname}={value!r} does not divide "
            f"{what}={total}; allowed: {divisors(total)}"
        )


def thresholds_apply(
    acc: np.ndarray, thresholds: np.ndarray, out_bias: int, out_dtype: DataType
) -> np.ndarray:
    """Multi-threshold activation: ``out_bias + #{k : acc >= T[c, k]}`` per channel.

    ``acc`` has channels on its last axis; ``thresholds`` is ``(channels, n_thresholds)``.
    For a BIPOLAR output the count (0 or 1) becomes the value -1 or +1.
    """
    cnt = (acc[..., None] >= thresholds).sum(axis=-1).astype(np.int64)
    if out_dtype.is_bipolar:
        return 2 * cnt - 1
    return cnt + out_bias
