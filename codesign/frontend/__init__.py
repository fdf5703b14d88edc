"""Front ends: data, model families, A2Q quantization, export, ONNX import."""
