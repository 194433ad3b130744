#!/usr/bin/env python3
"""The scalability table (``fpgagen scale``) of TFC-W1A1, CNV-W1A1 and CNV-W2A2 on every board.

    python benchmarks/cost/scale_table.py --label new [--out benchmarks/results/scale_table.json]

Runs :func:`fpgagen.scale.scale` (``io="stream"``: the compute bound, the fastest design
within 70% of each board) in this process with the cost model of the ``fpgagen`` on
``PYTHONPATH`` and adds the rows under ``--label`` to the JSON file, so the table can be made
with two versions of the model (docs/benchmarks.md: before and after issue 18).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def export_models(work: Path) -> dict:
    import torch
    from fpgagen.models.cnn import make_cnn
    from fpgagen.models.export import export_qonnx_model
    from fpgagen.models.mlp import make_mlp, randomize_bn

    torch.manual_seed(0)
    out = {}
    m = make_mlp("tfc_w1a1", seed=0)
    randomize_bn(m, 0)
    out["tfc_w1a1"] = export_qonnx_model(m.eval(), (1, 784), work / "tfc.onnx")
    for name in ("cnv_w1a1", "cnv_w2a2"):
        m = make_cnn(name, seed=0)
        out[name] = export_qonnx_model(m.eval(), (1, 3, 32, 32), work / f"{name}.onnx")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--label", required=True)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "scale_table.json"))
    a = ap.parse_args()
    import fpgagen
    from fpgagen.scale import scale

    work = Path(tempfile.mkdtemp(prefix="fpgagen_scale_"))
    models = export_models(work)
    rows = []
    for name, path in models.items():
        for r in scale(path, cap=0.7, io="stream", jobs=1, cache=False):
            rows.append(
                {
                    "model": name,
                    "board": r["board"],
                    "fits": r["fits"],
                    "cycles": r["cycles"],
                    "fps": round(r["fps"]) if r["fps"] else None,
                    "lut": (r.get("resources") or {}).get("lut"),
                    "lut_band": r.get("lut_band"),
                    "limiting": r["limiting"],
                }
            )
            x = rows[-1]
            print(
                f"{name:10s} {x['board']:10s} cycles {x['cycles']} fps {x['fps']} LUT "
                f"{x['lut']} +- {x['lut_band']} {x['limiting']}",
                flush=True,
            )
    out = Path(a.out)
    data = json.loads(out.read_text()) if out.is_file() else {}
    data[a.label] = {"fpgagen": str(Path(fpgagen.__file__).parent), "rows": rows}
    out.write_text(json.dumps(data, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
