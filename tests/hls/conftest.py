"""Markers of the HLS backend tests."""


def pytest_configure(config):
    config.addinivalue_line("markers", "hls: compiles HLS C++ with g++")
