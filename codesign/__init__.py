"""codesign: FPGA accelerator co-design from Brevitas A2Q training to verified hardware."""

__version__ = "0.1.0"
