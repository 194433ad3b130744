"""Simulation support: Verilator/cocotb runner and the shared AXI-Stream testbench helpers."""
