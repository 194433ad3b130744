"""The simple folding rule and the folding JSON format.

Folding JSON: ``{"layers": {"<layer name>": {"PE": 4, "SIMD": 8}, ...}}`` (the ``layers``
wrapper is optional). Layers not listed keep the rule's choice. An MVAU or VVAU may also set
its weight memory style, ``"ram_style": "auto" | "distributed" | "block" | "ultra" | "external"``
(:mod:`fpgagen.layers.memory`).
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

from ..errors import FoldingError
from ..layers.memory import WEIGHT_STYLES

__all__ = ["apply_folding_file", "fold_to_cycles", "folding_dict", "load_folding", "target_cycles"]


def target_cycles(dataflow, fps: float | None, clock_mhz: float) -> int:
    """Cycles per frame for a throughput target; without one, a default mid-size design."""
    if fps is not None:
        if fps <= 0:
            raise FoldingError(f"--fps must be positive, got {fps}")
        return max(1, int(clock_mhz * 1e6 // fps))
    unfolded = []
    for l in dataflow.layers:
        f = l.folding()
        unfolded.append(l.expected_cycles() * math.prod(f.values()))
    return max(1, math.ceil(max(unfolded) / 256))


def _fold_least(l, cycles: int) -> None:
    """Least parallelism (product of the folding parameters) reaching ``cycles``; ties go to
    the smaller leading parameters (SIMD before PE: cheaper). Only the layer's allowed values
    are tried (a grouped MVAU's SIMD divides its group size); without any folding reaching
    ``cycles``, the fastest allowed one."""
    opts = l.folding_options()
    best = None
    for vs in itertools.product(*opts.values()):
        f = dict(zip(opts, vs))
        if not l.folding_valid(**f):
            continue
        l.set_folding(**f)
        if l.expected_cycles() <= cycles:
            key = (math.prod(vs), *vs[:-1], -vs[-1])
            if best is None or key < best[0]:
                best = (key, f)
    if best is None:  # the fastest buildable folding
        f = max(
            (dict(zip(opts, vs)) for vs in itertools.product(*opts.values())),
            key=lambda f: (l.folding_valid(**f), math.prod(f.values())),
        )
        best = (None, f)
    l.set_folding(**best[1])


def fold_to_cycles(dataflow, cycles: int) -> None:
    """Fold every layer to the least parallelism that reaches ``cycles`` per frame."""
    for l in dataflow.layers:
        if l.folding_options():
            _fold_least(l, cycles)


def load_folding(path) -> dict:
    """Read a folding JSON file; returns {layer: {param: value}}."""
    p = Path(path)
    try:
        d = json.loads(p.read_text())
    except FileNotFoundError:
        raise FoldingError(f"{p}: no such folding file") from None
    except (OSError, ValueError) as e:
        raise FoldingError(f"{p}: not a valid folding JSON file ({e})") from None
    if isinstance(d, dict) and "layers" in d:
        d = d["layers"]
    if not isinstance(d, dict) or not all(isinstance(v, dict) for v in d.values()):
        raise FoldingError(f'{p}: expected {{"layers": {{"<layer>": {{"PE": n, "SIMD": n}}}}}}')
    return d


def apply_folding_file(dataflow, path) -> None:
    """Apply a folding JSON file to the dataflow's layers (by name)."""
    spec = load_folding(path)
    names = {l.name: l for l in dataflow.layers}
    for lname, params in spec.items():
        if lname not in names:
            raise FoldingError(
                f"{path}: unknown layer {lname!r}; layers: {', '.join(sorted(names))}"
            )
        layer = names[lname]
        params = dict(params)
        style = params.pop("ram_style", None)
        if style is not None:
            if not hasattr(layer, "ram_style"):
                raise FoldingError(
                    f"{path}: layer {lname} ({layer.op_type}) has no weight memory; "
                    "ram_style applies to MVAU and VVAU layers"
                )
            if style not in WEIGHT_STYLES:
                raise FoldingError(
                    f"{path}: layer {lname} ({layer.op_type}): ram_style {style!r} is not a "
                    f"weight memory style; allowed: {', '.join(WEIGHT_STYLES)}"
                )
            layer.ram_style = style
            layer.ram_style_by_optimizer = False
        allowed = layer.folding_options()
        for k in params:
            if k not in allowed:
                raise FoldingError(
                    f"{path}: layer {lname} ({layer.op_type}) has no parameter {k!r}; "
                    f"allowed: {', '.join(allowed) or 'none'}"
                )
        layer.set_folding(**params)


def folding_dict(dataflow) -> dict:
    """The dataflow's folding in the JSON format ``--folding`` accepts (with ``ram_style``
    for weight memories whose style is not ``auto``)."""
    out = {}
    for l in dataflow.layers:
        f = dict(l.folding())
        if getattr(l, "ram_style", "auto") != "auto":
            f["ram_style"] = l.ram_style
        if f:
            out[l.name] = f
    return {"layers": out}
