"""Fitted coefficients of fpgagen.cost.model (written by benchmarks/cost/calibrate.py fit)."""
COEF = {}
