"""Accelerator-level cocotb testbench: any design with s_axis/m_axis ports and a vectors folder."""
