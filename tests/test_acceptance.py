"""Issue-level acceptance on the shipped default config (8-bit weights and activations)."""

from pathlib import Path

import pytest

from codesign.config import load_config
from codesign.flow.runner import run_flow
from codesign.paths import data_dir


@pytest.mark.slow
def test_a2q_p16_keeps_99_percent_of_float_and_finn_accumulators_fit(tmp_path: Path) -> None:
    cfg = load_config(data_dir("configs") / "mlp_a2q.yaml")
    assert (cfg.quant.method, cfg.quant.acc_bits, cfg.quant.weight_bits, cfg.quant.act_bits) == (
        "a2q", 16, 8, 8
    )
    r = run_flow(cfg, tmp_path, until="lower").results
    acc = r["accuracy"]
    assert acc["quantized"] >= 0.99 * acc["float"], acc
    assert acc["hw_graph"] == acc["quantized"]
    mvaus = [layer for layer in r["layers"] if layer["op_type"] == "MVAU"]
    assert len(mvaus) == 3
    for layer in mvaus:
        # FINN's minimized width never exceeds P, and sits next to the looser bounds
        assert layer["acc_bits_finn"] <= 16 < layer["acc_bits_dtype_bound"], layer
        assert layer["acc_bits_a2q_bound"] <= 16
        assert layer["max_l1_norm"] <= 128
