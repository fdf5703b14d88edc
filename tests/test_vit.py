"""The ViT family: config errors, patch order, the integer attention in the forward pass
(the integers of codesign.attention, straight-through gradients) and the export to
codesign's graph-level attention ops, checked equal to torch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.custom_op.registry import getCustomOp
from qonnx.transformation.change_batchsize import ChangeBatchSize
from qonnx.transformation.infer_shapes import InferShapes

from codesign import attention
from codesign.config import QuantConfig, TrainConfig, parse_config
from codesign.dataflow.lower import steps as lower_steps
from codesign.errors import ConfigError
from codesign.frontend.data import load_digits_split
from codesign.frontend.export import check_equivalence, export_qonnx
from codesign.frontend.models import build_model
from codesign.frontend.models.vit import ViTConfig
from codesign.frontend.models.vit import attention as vit_att
from codesign.frontend.quant.train import train_model

TINY = {"kind": "vit", "dim": 8, "heads": 2, "mlp": 8}


def _vit(method: str = "a2q", **model: object) -> ViTConfig:
    cfg = parse_config({"model": {**TINY, **model}, "quant": {"method": method}}).model
    assert isinstance(cfg, ViTConfig)
    return cfg


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ({"heads": 3}, "model.heads=3 does not divide model.dim=8"),
        ({"patch": 3}, "model.patch=3 does not divide the 8x8 image"),
        ({"attention": "taylor"}, "attention"),
        ({"image": 12}, "model.image=12 is not a multiple of the digits' 8 pixels"),
        ({"image": 16, "patch": 3}, "model.patch=3 does not divide the 16x16 image"),
        ({"centre": "features"}, "model.centre=features centres the keys of linear attention"),
        ({"norm": "group"}, r"model.norm: .*'batch' or 'layer'"),
        ({"attention": "linear", "centre": "heads"}, r"model.centre: .*'tokens' or 'features'"),
    ],
)
def test_config_errors_name_the_key(model: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _vit(**model)


def test_patches_are_the_tokens() -> None:
    cfg = _vit(patch=2)
    assert cfg.tokens == 16 and cfg.input_shape == (16, 4)
    split = load_digits_split(8, shape=cfg.input_shape, order=cfg.pixel_order)
    flat = load_digits_split(8).x_test.reshape(-1, 8, 8)
    # token 5 is the patch in row 1, column 1 of the 4x4 grid of 2x2 patches
    assert np.array_equal(split.x_test[:, 5], flat[:, 2:4, 2:4].reshape(-1, 4))
    assert _vit(patch=1).input_shape == (64, 1)


def test_a_resized_image_repeats_the_digits_pixels() -> None:
    cfg = _vit(image=16, patch=1)
    assert cfg.tokens == 256 and cfg.input_shape == (256, 1)
    split = load_digits_split(8, shape=cfg.input_shape, order=cfg.pixel_order)
    flat = load_digits_split(8).x_test.reshape(-1, 8, 8)
    big = np.kron(flat, np.ones((2, 2), dtype=flat.dtype))  # nearest neighbour, 16x16
    assert np.array_equal(split.x_test.reshape(-1, 16, 16), big)


def test_token_memory_is_checked_against_the_board() -> None:
    model = {**TINY, "patch": 1}
    with pytest.raises(ConfigError, match=r"64 tokens .* on-chip memory .*EBR.*SPRAM.*"
                       r"model.position: false"):
        parse_config({"model": model, "board": "icebreaker"})
    # per-feature thresholds fit; so does the default board
    parse_config({"model": {**model, "position": False}, "board": "icebreaker"})
    parse_config({"model": model})


def test_softmax_forward_is_the_integer_golden() -> None:
    """The torch core returns the golden's integers times 2^-F and passes the float
    softmax's gradient straight through."""
    gen = torch.Generator().manual_seed(0)
    q = torch.randint(-8, 8, (2, 4, 2, 3), generator=gen).float() * 0.5
    k = torch.randint(-8, 8, (2, 4, 2, 3), generator=gen).float() * 0.25
    s = vit_att.Scores.apply(q, k)
    lut = tuple(int(x) for x in attention.exp_lut(0.125 * 0.3))
    s.requires_grad_(True)
    a = vit_att.Softmax.apply(s, 0.125, 0.3, lut, 8, attention.recip_bits(4))
    ints = attention.int_softmax(np.rint(s.detach().numpy() / 0.125).astype(np.int64), lut)
    assert np.array_equal(a.detach().numpy() * 256, ints)
    a.sum().backward()  # each softmax row sums to one: its gradient vanishes
    assert s.grad is not None and float(s.grad.abs().max()) < 1e-6


def test_linear_forward_is_the_integer_golden() -> None:
    gen = torch.Generator().manual_seed(1)
    q, k, v = (torch.randint(-8, 8, (1, 4, 4), generator=gen).float() for _ in range(3))
    out = vit_att.int_linear_attention(q, k, v, 2, (1.0, 1.0, 1.0))
    mult, shift = attention.taylor_multiplier(1 / np.sqrt(2))
    z = attention.linear_attention(q.numpy(), k.numpy(), v.numpy(), 2, mult, shift)
    assert np.array_equal(out.numpy() * 2**attention.FRAC_BITS, z)


OPS = {"softmax": ["AttentionScores", "IntSoftmax", "AttentionMix"], "linear": ["LinearAttention"]}


@pytest.fixture(scope="module", params=["softmax", "linear"])
def exported(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
             ) -> tuple[str, torch.nn.Module, Path, np.ndarray, np.ndarray]:
    """A briefly trained tiny ViT of each attention kind and its QONNX export."""
    kind = request.param
    cfg = _vit(attention=kind)
    quant = QuantConfig(method="a2q", acc_bits=16)
    model = build_model(cfg, quant, seed=0)
    split = load_digits_split(8, shape=cfg.input_shape, order=cfg.pixel_order)
    train_model(model, split, TrainConfig(epochs=3, seed=0))
    result = export_qonnx(model, quant, split.x_test, tmp_path_factory.mktemp(kind) / "vit.onnx")
    assert [op for op in result.op_types if op in OPS[kind]] == OPS[kind]
    return kind, model, result.path, split.x_test, split.y_test


def test_export_equals_torch(exported: tuple[str, torch.nn.Module, Path, np.ndarray,
                                             np.ndarray]) -> None:
    """The graph, with codesign's attention ops, computes torch's outputs on every test
    image (in one batch)."""
    kind, model, path, x, y = exported
    graph = ModelWrapper(str(path))
    assert {n.domain for n in graph.graph.node if n.op_type in OPS[kind]} == {
        "codesign.frontend.ops"
    }
    report = check_equivalence(model, path, x, y)
    assert report.n == 360 and report.predictions_equal and report.images_at_ties == 0
    assert report.batched


def test_streamlined_attention_computes_on_integers(
    exported: tuple[str, torch.nn.Module, Path, np.ndarray, np.ndarray],
) -> None:
    """After the vit recipe every attention op reads integer tensors and has no scale,
    only the classifier's Mul and Add stay float, and the graph computes the QONNX
    graph's outputs."""
    kind, _, path, x, _ = exported
    cfg = parse_config({"model": {**TINY, "attention": kind}})
    qonnx = ModelWrapper(str(path))
    model = lower_steps.step_tidy_up(lower_steps.step_qonnx_to_finn(qonnx, cfg), cfg)
    model = lower_steps.STREAMLINERS["vit"](model)
    for node in model.graph.node:
        if node.op_type in OPS[kind]:
            inst = getCustomOp(node)
            assert all(model.get_tensor_datatype(i).is_integer() for i in node.input)
            scales = [a.name for a in node.attribute if a.name.endswith("scale")]
            assert all(inst.get_nodeattr(a) == 1.0 for a in scales), node.name
    assert [n.op_type for n in model.graph.node if n.op_type in ("Mul", "Add")][-2:] == [
        "Mul", "Add"
    ]
    assert sum(n.op_type == "Mul" for n in model.graph.node) == 1
    # the sum over tokens joined the classifier: a flattening Reshape, one MatMul
    assert not model.get_nodes_by_op_type("ReduceSum")
    classifier = model.get_nodes_by_op_type("MatMul")[-1]
    assert model.find_producer(classifier.input[0]).op_type == "Reshape"
    want, got = (_run(g, x[:40]) for g in (qonnx, model))
    assert np.abs(want - got).max() < 1e-4 and (want.argmax(1) == got.argmax(1)).all()


def _run(model: ModelWrapper, x: np.ndarray) -> np.ndarray:
    model = model.transform(ChangeBatchSize(len(x))).transform(InferShapes())
    out = execute_onnx(model, {model.graph.input[0].name: x})
    return np.asarray(out[model.graph.output[0].name])


def test_float_vit_trains() -> None:
    cfg = _vit()
    model = build_model(cfg, QuantConfig(method="float"), seed=0)
    split = load_digits_split(8, shape=cfg.input_shape, order=cfg.pixel_order)
    assert train_model(model, split, TrainConfig(epochs=3, seed=0)).test_accuracy > 0.5


def test_unknown_attention_kind_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"softmax.*linear|linear.*softmax"):
        parse_config({"model": {**TINY, "attention": "vitality"}})


def test_report_section_sums_the_attention_kernels(tmp_path: Path) -> None:
    from codesign.report.data import Run
    from codesign.report.figures import save
    from codesign.report.vit import COLUMNS, draw_vit_scaling, vit_table

    def run(attention: str, patch: int, cycles: int, synthesized: bool) -> Run:
        res: dict[str, object] = {
            "name": f"{attention}{patch}",
            "config": {"model": {"kind": "vit", "attention": attention, "patch": patch,
                                 "image": 8, "dim": 16, "heads": 2}},
            "layers": [{"name": "sm", "role": "attention", "cycles": cycles},
                       {"name": "mlp", "role": "", "cycles": 10 * cycles}],
            "ii": {"cycles": 10 * cycles, "source": "measured"},
        }
        if synthesized:
            kernels = [{"instance": "u_a", "role": "attention", "total": {"LUT": 100.0}},
                       {"instance": "u_b", "role": "attention", "total": {"LUT": 20.0}},
                       {"instance": "u_m", "total": {"LUT": 1000.0}}]
            res["resources"] = {"accelerator": {"total": {"LUT": 1120.0}, "kernels": kernels,
                                                "percent": {"LUT": 0.49}}}
        return Run(source="results.json", results=res)

    for synthesized in (True, False):
        runs = [run("softmax", 1, 60000, synthesized), run("linear", 2, 4600, synthesized),
                run("softmax", 2, 4000, synthesized), Run(source="x", results={"name": "mlp"})]
        refused = Run(source="store", results={"config": run("softmax", 1, 0, False)
                                               .results["config"]},
                      status="failed", error="VerificationError: lowered graph differs")
        table = vit_table([*runs, refused])
        assert table is not None and len(table.rows) == 4  # the MLP run is not a ViT
        rows = [dict(zip(COLUMNS, r, strict=True)) for r in table.rows]
        assert [(r["attention"], r["N"], r["status"]) for r in rows] == [
            ("linear", "16", "done"), ("softmax", "16", "done"), ("softmax", "64", "done"),
            ("softmax", "64", "VerificationError")]
        assert rows[2]["attention cycles (est.)"] == "60000"
        assert rows[2]["attention LUT"] == ("120" if synthesized else "—")
        save(draw_vit_scaling(runs), tmp_path / f"vit_{synthesized}.png")
    assert vit_table([Run(source="x", results={"name": "mlp"})]) is None


FLOAT = QuantConfig(method="float")


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ({"norm": "layer"}, r"model.norm=layer is float only .*not quant.method a2q.* "
         r"LayerNorm needs each token's mean"),
        ({"attention": "linear", "centre": "features"},
         r"model.centre=features is float only .*not quant.method a2q.* over the tokens"),
    ],
)
def test_float_only_forms_refuse_a_quantized_method(model: dict[str, object],
                                                    message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config({"model": {**TINY, **model}})
    cfg = _vit("float", **model)
    build_model(cfg, FLOAT)
    with pytest.raises(ConfigError, match=message):  # built without a flow config
        build_model(cfg, QuantConfig(method="a2q", acc_bits=16))


def _float_step(cfg: ViTConfig) -> torch.nn.Module:
    """One Adam step of the float model on 16 training images; the model, in eval mode."""
    model = build_model(cfg, FLOAT, seed=0)
    split = load_digits_split(8, shape=cfg.input_shape, order=cfg.pixel_order)
    x, y = torch.tensor(split.x_train[:16]), torch.tensor(split.y_train[:16])
    before = [p.detach().clone() for p in model.parameters()]
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    torch.nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
    assert all(not torch.equal(a, p) for a, p in zip(before, model.parameters(), strict=True))
    model.eval()
    out = model(torch.tensor(split.x_test[:4]))
    assert out.shape == (4, 10) and bool(torch.isfinite(out).all())
    return model


@pytest.mark.parametrize("position", [True, False])
def test_layer_norm_vit_trains_a_step(position: bool) -> None:
    """``norm: layer``: a LayerNorm wherever the BatchNorm was, none left."""
    model = _float_step(_vit("float", norm="layer", position=position))
    norms = [m for m in model.modules() if isinstance(m, torch.nn.LayerNorm)]
    assert len(norms) == 7  # the embedding, q, k, v, the output projection, fc1, fc2
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
                   for m in model.modules())


def test_feature_centred_linear_vit_trains_a_step() -> None:
    _float_step(_vit("float", attention="linear", centre="features"))


def test_feature_centred_form_is_its_formula() -> None:
    """ViTALiTy's public-code form per head h: ``c Q_h (K_h - mean over the head's
    features)^T V_h / N``, against numpy; a constant added to a key's features in a head
    leaves it unchanged."""
    rng = np.random.default_rng(2)
    b, n, d, heads, c = 2, 5, 6, 2, 0.7
    q, k, v = (rng.normal(size=(b, n, d)) for _ in range(3))
    dh = d // heads
    want = np.empty((b, n, d))
    for i in range(b):
        for h in range(heads):
            cols = slice(h * dh, (h + 1) * dh)
            k_hat = k[i, :, cols] - k[i, :, cols].mean(axis=1, keepdims=True)
            want[i, :, cols] = c * q[i, :, cols] @ (k_hat.T @ v[i, :, cols]) / n
    got = vit_att.float_linear_features(*(torch.from_numpy(x) for x in (q, k, v)), heads, c)
    assert np.allclose(got.numpy(), want, rtol=1e-12, atol=1e-12)
    shifted = k + np.repeat(rng.normal(size=(b, n, heads)), dh, axis=2)
    again = vit_att.float_linear_features(*(torch.from_numpy(x) for x in (q, shifted, v)),
                                          heads, c)
    assert np.allclose(again.numpy(), want, rtol=1e-9, atol=1e-12)
