"""Synthesis: Yosys resource estimates (yosys, per kernel in kernels), the open
place-and-route flow (nextpnr), Vivado projects and reports, Vitis HLS scripts, and the
fit check against a board's budget. The package imports nothing itself, so that a flow
step's code key (codesign.closure) holds only the synthesis modules the step runs."""
