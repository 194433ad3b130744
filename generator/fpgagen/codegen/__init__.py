"""Code generation: RTL top level and simulation harness (HLS in hls.py)."""
