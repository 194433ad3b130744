"""The user's array files: reading a batch (.npy) checked once at the edge, and choosing an
output file that can never be one of the command's inputs."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .errors import FpgagenError

__all__ = ["check_output_file", "load_array"]


def load_array(path, option: str = "--inputs") -> np.ndarray:
    """A single real numeric array from a .npy file: finite, not empty, at least 1-D.

    Every problem is a one-line :class:`FpgagenError` naming ``option`` and the file."""
    p = Path(path)
    if not p.is_file():
        what = "is a folder" if p.is_dir() else "no such file"
        raise FpgagenError(f"{option} {p}: {what}; give a .npy file (numpy.save)")
    try:
        a = np.load(p, allow_pickle=False)
    except Exception as e:
        msg = " ".join(str(e).split())[:120]
        raise FpgagenError(
            f"{option} {p}: not a .npy array file ({type(e).__name__}: {msg}); save the "
            "batch with numpy.save"
        ) from None
    if not isinstance(a, np.ndarray):
        raise FpgagenError(f"{option} {p}: holds several arrays (.npz); give one .npy array")
    if a.dtype.kind not in "biuf":
        kind = {"c": "complex", "U": "text", "S": "bytes", "O": "object", "V": "structured"}
        raise FpgagenError(
            f"{option} {p}: has dtype {a.dtype} ({kind.get(a.dtype.kind, 'not numeric')}); "
            "give a real numeric array (float32)"
        )
    if a.ndim == 0 or a.size == 0:
        raise FpgagenError(
            f"{option} {p}: is empty (shape {a.shape}); give a batch (N, ...) with N >= 1"
        )
    if a.dtype.kind == "f":
        bad = ~np.isfinite(a)
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise FpgagenError(
                f"{option} {p}: {int(bad.sum())} value(s) are not finite (first {a[idx]} at "
                f"index {idx}); give finite numbers"
            )
    return a


def check_output_file(path, option: str, inputs=(), suffix: str = ".npy") -> Path:
    """An output file name that ends in ``suffix``, whose folder exists, that is not a
    folder and is not one of ``inputs`` (writing it would destroy the input)."""
    p = Path(path)
    if suffix and p.suffix != suffix:
        raise FpgagenError(f"{option} {p}: the file name must end in {suffix}")
    if p.is_dir():
        raise FpgagenError(f"{option} {p}: is a folder; give a {suffix or 'file'} name")
    parent = p.parent
    if not parent.is_dir():
        for q in [parent, *parent.parents]:
            if q.exists() and not q.is_dir():
                raise FpgagenError(f"{option} {p}: {q} is a file, not a folder")
        raise FpgagenError(f"{option} {p}: folder {parent} does not exist; create it first")
    for inp in inputs:
        if inp is None:
            continue
        try:
            same = Path(inp).exists() and p.exists() and os.path.samefile(p, inp)
        except OSError:
            same = False
        if same or Path(os.path.abspath(p)) == Path(os.path.abspath(inp)):
            raise FpgagenError(
                f"{option} {p}: is the input file {inp}; writing it would destroy the input, "
                "give another file name"
            )
    return p
