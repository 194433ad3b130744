"""Folding: choose PE/SIMD for every layer (simple balancing rule, or a user JSON file)."""

from .simple import apply_folding_file, fold_to_cycles, folding_dict, load_folding, target_cycles

__all__ = ["apply_folding_file", "fold_to_cycles", "folding_dict", "load_folding", "target_cycles"]
