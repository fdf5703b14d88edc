"""Quantization side of codesign: accumulator bounds, A2Q presets and training."""
