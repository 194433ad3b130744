"""Split a lowered network into CPU layers and the FPGA dataflow block (``--cpu-layers``).

A *unit* is a run of streaming layers ending in a computing one: layers that only rearrange
their input for the next one (``feeds_next``: padding, sliding window) belong to the unit of the
layer they feed (a 3x3 convolution is the
unit ``pad -> swu -> MVAU``, named after the MVAU). The CPU layers are a prefix (the *CPU
head*, after the host head's input quantizer) and a suffix (the *CPU tail*, before the host
tail) of the units; the rest is the accelerator.

* ``auto``: the first unit goes to the CPU when it is a convolution or matrix layer with at
  least 8-bit inputs and at most 4 input channels (an image's first layer: a few wide
  channels keep the FPGA's first sliding window busy for little compute, and its 8x8-bit
  products need DSPs); the last unit goes to the CPU when it is a 1x1 convolution or matrix
  layer without an activation (a linear output layer, e.g. a detector's region head) with at
  least 8-bit weights.
* ``none``: nothing (the default for models without detector metadata).
* ``NAME[,NAME...]``: these units (names as ``fpgagen estimate`` lists the layers).

The moved layer objects stay on the :class:`~fpgagen.dataflow.Dataflow` (``cpu_head`` and
``cpu_tail``) so the golden model runs them; :func:`cpu_specs` turns them into the numpy specs
of :mod:`fpgagen.cpulayers` that the deploy folder runs (each layer's ``cpu_spec``; the layers
with a ``cpu_op`` run on the CPU).
"""

from __future__ import annotations

from ..errors import FpgagenError

__all__ = [
    "apply_partition",
    "cpu_specs",
    "split_units",
    "units_summary",
]


class PartitionError(FpgagenError):
    """A ``--cpu-layers`` choice that cannot be split off (one line)."""


def split_units(layers) -> list[list]:
    """Group a chain of layers into units (feeders + the layer they feed)."""
    units, cur = [], []
    for l in layers:
        cur.append(l)
        if not l.feeds_next:
            units.append(cur)
            cur = []
    if cur:
        units.append(cur)
    return units


def _conv(unit):
    last = unit[-1]
    return getattr(last, "conv", None)


def _auto_head(units) -> int:
    if len(units) < 3:
        return 0
    u = units[0]
    last = u[-1]
    if last.cpu_op != "matmul":
        return 0
    return 1 if last.in_dtype.bits >= 8 and u[0].in_channels <= 4 else 0


def _auto_tail(units) -> int:
    if len(units) < 3:
        return 0
    u = units[-1]
    last = u[-1]
    if last.cpu_op != "matmul" or len(u) != 1 or last.thresholds is not None:
        return 0
    conv = _conv(u)
    one_by_one = conv is None or list(conv["kernel"]) == [1, 1]
    return 1 if one_by_one and last.w_dtype.bits >= 8 else 0


def _check_chain(df) -> None:
    for l in df.layers:
        if len(l.ins) != 1 or len(l.outs) != 1:
            raise PartitionError(
                f"{df.name}: layer {l.name} ({l.op_type}) branches; CPU layers need a "
                "network without branches (use --cpu-layers none)"
            )


def apply_partition(df, cpu_layers: str | None, default_auto: bool = False):
    """Move the chosen units of ``df`` to ``df.cpu_head``/``df.cpu_tail`` (in place).

    ``cpu_layers``: ``"auto"``, ``"none"``, a comma-separated list of unit names, or None
    (``auto`` when ``default_auto`` else ``none``). Records ``df.meta["partition"]``; returns
    ``df``. Call it on the lowered dataflow, before folding.
    """
    choice = cpu_layers if cpu_layers is not None else ("auto" if default_auto else "none")
    choice = str(choice).strip()
    df.cpu_head, df.cpu_tail = [], []
    if choice == "none":
        return df
    units = split_units(df.layers)
    names = [u[-1].name for u in units]
    if choice == "auto":
        if any(len(l.ins) != 1 or len(l.outs) != 1 for l in df.layers):
            return df  # branching networks stay whole
        nh, nt = _auto_head(units), _auto_tail(units)
    else:
        _check_chain(df)
        want = [w.strip() for w in choice.split(",") if w.strip()]
        unknown = [w for w in want if w not in names]
        if unknown or not want:
            raise PartitionError(
                f"--cpu-layers {choice!r}: {', '.join(unknown) or 'no name'} is not a layer of "
                f"{df.name}; use auto, none or names from: {', '.join(names)}"
            )
        idx = sorted(names.index(w) for w in want)
        nh = 0
        while nh < len(idx) and idx[nh] == nh:
            nh += 1
        rest = idx[nh:]
        nt = len(rest)
        if rest != list(range(len(units) - nt, len(units))):
            raise PartitionError(
                f"--cpu-layers {choice!r}: CPU layers must be the first and/or the last layers "
                f"of {df.name} (in order: {', '.join(names)})"
            )
    if nh + nt >= len(units):
        raise PartitionError(
            f"--cpu-layers {choice!r}: leaves no layer for the FPGA in {df.name}; keep at "
            "least one layer on the accelerator"
        )
    head = [l for u in units[:nh] for l in u]
    tail = [l for u in units[len(units) - nt :] for l in u]
    for l in head + tail:
        if l.cpu_op is None:
            raise PartitionError(
                f"--cpu-layers {choice!r}: layer {l.name} is a {l.op_type}, which does not run "
                f"on the CPU (CPU layers: {', '.join(cpu_layer_types())})"
            )
    from ..dataflow import Dataflow

    mid = df.layers[len(head) : len(df.layers) - len(tail)]
    mid[0].ins = [Dataflow.INPUT]
    if head:
        head[0].ins = [Dataflow.INPUT]
    df.layers = mid
    df.cpu_head, df.cpu_tail = head, tail
    df.meta["partition"] = {
        "cpu_layers": choice,
        "cpu_head": [u[-1].name for u in units[:nh]],
        "cpu_tail": [u[-1].name for u in units[len(units) - nt :]],
        "fpga": [u[-1].name for u in units[nh : len(units) - nt]],
    }
    return df


def cpu_layer_types() -> list[str]:
    """The layer types that run on the CPU (those with a ``cpu_op``), sorted."""
    from ..layers import LAYER_TYPES

    return sorted(t for t, c in LAYER_TYPES.items() if c.cpu_op is not None)


def cpu_specs(df) -> tuple[list, list, dict]:
    """``(cpu_head specs, cpu_tail specs, constants)`` of a partitioned dataflow: each layer's
    ``cpu_spec`` (arrays into the constants under ``cpu.<layer>.<field>``)."""
    consts: dict = {}
    head = [l.cpu_spec(consts, "cpu.") for l in getattr(df, "cpu_head", [])]
    tail = [l.cpu_spec(consts, "cpu.") for l in getattr(df, "cpu_tail", [])]
    return head, tail, consts


def units_summary(df) -> list[dict]:
    """Every unit of the whole network in order: ``{name, device, layers}``."""
    out = []
    for where, layers in (
        ("cpu", getattr(df, "cpu_head", [])),
        ("fpga", df.layers),
        ("cpu", getattr(df, "cpu_tail", [])),
    ):
        real = [l for l in layers if not l.plumbing]
        for u in split_units(real):
            out.append({"name": u[-1].name, "device": where, "layers": u})
    return out
