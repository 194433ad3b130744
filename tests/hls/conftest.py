"""Fixtures of the HLS backend tests: ``ap_types`` lives in tests/conftest.py (shared with
the SYQ and CNN backend tests); the ``hls`` marker is declared in pyproject.toml."""
