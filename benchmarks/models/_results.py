"""Shared by the model benchmarks: write a result dict as JSON and say where it went."""

from __future__ import annotations

import json
from pathlib import Path


def save_results(out, res: dict, seconds_key: str = "total_seconds") -> None:
    """Write ``res`` to ``out`` (parent folders created) and print the path and run time."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2) + "\n")
    print(f"wrote {out} ({res[seconds_key]:.0f} s)")
