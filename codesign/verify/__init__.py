"""Verification: simulators (the cocotb runner), accelerator simulation, HLS
C-simulation, JUnit records."""
