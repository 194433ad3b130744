"""Resource cost model.

* :mod:`fpgagen.cost.model` — calibrated resource formulas per layer type
  (:func:`~fpgagen.cost.model.estimate`), and FINN's published MVAU formulas for comparison.

Its open-source synthesis check (Yosys) is :mod:`fpgagen.synth`, a consumer of the flow.

docs/cost_model.md describes the formulas, the calibration and their error.
"""

from .model import estimate, finn_mvau_bram18, finn_mvau_lut

__all__ = ["estimate", "finn_mvau_bram18", "finn_mvau_lut"]
