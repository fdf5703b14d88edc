"""A user's Brevitas model (``model.kind: brevitas``): the factory imported from the
config's directory, its checkpoint loaded, trained by ``codesign train`` where there is
none, exported with codesign's checks, and the shipped CNV-style example through the flow."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from codesign.cli import app
from codesign.config import load_config, parse_config
from codesign.errors import ConfigError
from codesign.flow.keys import step_key as _step_key
from codesign.flow.runner import run_flow
from codesign.frontend.models.brevitas.factory import build_user_model, load_user_checkpoint

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "brevitas_cnv"

# a tiny user model: flat 64 pixel codes -> QuantLinear 16 -> QuantReLU -> QuantLinear 10
TINY = """
import torch
from brevitas.nn import QuantLinear, QuantReLU
from brevitas.quant import Int8WeightPerTensorFloat
from torch import nn


class Scale(nn.Module):
    def forward(self, x):
        return x * (1.0 / 255.0)


def make_net():
    return nn.Sequential(
        Scale(),
        QuantLinear(64, HIDDEN, bias=False, weight_quant=Int8WeightPerTensorFloat,
                    weight_bit_width=4),
        nn.BatchNorm1d(HIDDEN),
        QuantReLU(bit_width=4),
        QuantLinear(HIDDEN, 10, bias=True, weight_quant=Int8WeightPerTensorFloat,
                    weight_bit_width=4),
    )


HIDDEN = 16
not_callable = 3


def not_a_module():
    return "a string"


def raises():
    raise ValueError("bad width")


def needs_width(width):
    return make_net()


def plain_torch():
    return nn.Sequential(nn.Linear(64, 10))


def conv_net():
    from brevitas.nn import QuantConv2d

    return nn.Sequential(QuantConv2d(1, 4, 3, weight_bit_width=4), nn.Flatten())
"""


def _digits_npz(path: Path, n: int, start: int = 0) -> Path:
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    codes = np.floor(x * 255.0 / 16.0 + 0.5).astype(np.uint8)
    np.savez(path, x=codes[start : start + n], y=y[start : start + n])
    return path


@pytest.fixture
def user_dir(tmp_path: Path) -> Path:
    """A user's project: a factory module (its name unique per test directory, as two
    configs elsewhere may each have their own ``usernet``), a test and a training set."""
    (tmp_path / "usernet.py").write_text(TINY)
    _digits_npz(tmp_path / "test.npz", 40, start=1000)
    _digits_npz(tmp_path / "train.npz", 300)
    return tmp_path


def _cfg(base: Path, model: dict[str, Any] | None = None, **extra: Any) -> Any:
    data = {"kind": "npz", "path": "test.npz", "input_type": "UINT8", "train": "train.npz"}
    return parse_config(
        {
            "name": "user_brevitas",
            "model": {"kind": "brevitas", "factory": "usernet:make_net", "input_shape": [64],
                      **(model or {})},
            "data": data,
            "fold": {"target_cycles": 64},
            "train": {"epochs": 3, "batch_size": 32},
            **extra,
        },
        base_dir=base,
    )


def _save_state(user_dir: Path, name: str = "net.pt") -> Path:
    cfg = _cfg(user_dir)
    model = build_user_model(cfg.model)
    model(torch.rand(8, 64) * 255)  # activation scales exist once it ran in training mode
    torch.save(model.state_dict(), user_dir / name)
    return user_dir / name


# --------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    ("model", "data", "hint"),
    [
        ({"factory": "usernet"}, {}, "is not 'module.path:function'"),
        ({"factory": "usernet:make_net", "checkpoint": "none.pt"}, {},
         "model.checkpoint: file not found"),
        ({}, {"input_type": None}, "model.kind brevitas needs data.input_type"),
        ({}, {"train": None}, "without model.checkpoint is trained by codesign: give data.train"),
        ({"input_shape": [1, 0, 8]}, {}, "every dimension must be >= 1"),
        ({"source_dir": "nowhere"}, {}, "model.source_dir: directory not found"),
    ],
)
def test_config_errors_name_the_key(
    user_dir: Path, model: dict[str, Any], data: dict[str, Any], hint: str
) -> None:
    npz = {"kind": "npz", "path": "test.npz", "input_type": "UINT8", "train": "train.npz"}
    raw = {
        "model": {"kind": "brevitas", "factory": "usernet:make_net", "input_shape": [64],
                  **model},
        "data": {k: v for k, v in {**npz, **data}.items() if v is not None},
    }
    with pytest.raises(ConfigError, match=re.escape(hint)):
        parse_config(raw, base_dir=user_dir)


def test_quant_section_is_refused_and_train_kept(user_dir: Path) -> None:
    with pytest.raises(ConfigError, match=r"quant does not apply to model.kind brevitas"):
        _cfg(user_dir, quant={"method": "baseline"})
    cfg = _cfg(user_dir)
    dumped = cfg.model_dump(mode="json")
    assert "quant" not in dumped and dumped["train"]["epochs"] == 3
    assert dumped["model"]["source_dir"] == str(user_dir.resolve())


# --------------------------------------------------------------------------- factory


@pytest.mark.parametrize(
    ("factory", "hint"),
    [
        ("nosuch:make_net", r"model.factory 'nosuch:make_net': no module 'nosuch' in "),
        ("usernet.sub:make_net", r"usernet \(.*usernet.py\) is a module, not a package"),
        ("usernet:missing", r"has no 'missing'; its callables: .*make_net"),
        ("usernet:not_callable", r"not_callable in .* is a int, not callable"),
        ("usernet:not_a_module", r"not_a_module\(\) returned a str, not a torch.nn.Module"),
        ("usernet:raises", r"calling raises\(\) raised ValueError: bad width$"),
        ("usernet:needs_width", r"calling needs_width\(\) raised TypeError: .*argument"),
    ],
)
def test_factory_errors_are_named(user_dir: Path, factory: str, hint: str) -> None:
    cfg = _cfg(user_dir, {"factory": factory})
    with pytest.raises(ConfigError, match=hint) as err:
        build_user_model(cfg.model)
    # the calling convention is mentioned only where the call itself was wrong
    assert ("called without arguments" in str(err.value)) == (factory == "usernet:needs_width")


def test_factory_named_as_a_file_gets_the_module_form(user_dir: Path) -> None:
    with pytest.raises(ConfigError, match=r"model.factory: 'usernet.py:make_net' names a file; "
                       r"name its module without .py: 'usernet:make_net'"):
        _cfg(user_dir, {"factory": "usernet.py:make_net"})


def test_module_without_quantizers_is_refused(user_dir: Path) -> None:
    cfg = _cfg(user_dir, {"factory": "usernet:plain_torch"})
    with pytest.raises(ConfigError, match=r"plain_torch\(\) builds a module without Brevitas "
                       r"quantizers; .* use brevitas.nn layers"):
        build_user_model(cfg.model)


def test_input_shape_the_module_cannot_take_is_named_at_once(user_dir: Path) -> None:
    cfg = _cfg(user_dir, {"factory": "usernet:conv_net"})  # input_shape [64] into a conv
    with pytest.raises(ConfigError, match=r"model.input_shape \[64\] does not fit the module of "
                       r"model.factory 'usernet:conv_net': a batch of shape \[2, 64\] raised "
                       r"RuntimeError"):
        build_user_model(cfg.model)
    # through the CLI: exit status 2 and one error line, before any training
    config = user_dir / "conv.yaml"
    config.write_text(textwrap.dedent("""
        model: {kind: brevitas, factory: "usernet:conv_net", input_shape: [64]}
        data: {kind: npz, path: test.npz, input_type: UINT8, train: train.npz}
    """))
    result = CliRunner().invoke(app, ["train", str(config), "--out", str(user_dir / "b")])
    assert result.exit_code == 2, result.output
    assert "model.input_shape [64]" in result.output and "Traceback" not in result.output


def test_module_that_fails_to_import_is_named(tmp_path: Path) -> None:
    (tmp_path / "broken_net.py").write_text("import no_such_dependency_xyz\n")
    _digits_npz(tmp_path / "test.npz", 4)
    _digits_npz(tmp_path / "train.npz", 4)
    cfg = _cfg(tmp_path, {"factory": "broken_net:make_net"})
    with pytest.raises(ConfigError, match=r"model.factory 'broken_net:make_net': importing "
                       r"broken_net from .*broken_net.py raised ModuleNotFoundError"):
        run_flow(cfg, tmp_path / "build", until="train")


def test_not_importable_factory_fails_the_flow_before_any_step(user_dir: Path) -> None:
    cfg = _cfg(user_dir, {"factory": "elsewhere.net:make_net"})
    with pytest.raises(ConfigError, match=r"no module 'elsewhere' in .*\(model.source_dir, "
                       r"then sys.path\)"):
        run_flow(cfg, user_dir / "build", until="train")


def test_same_module_name_in_two_directories(user_dir: Path, tmp_path_factory: Any) -> None:
    other = tmp_path_factory.mktemp("other")
    (other / "usernet.py").write_text(TINY.replace("HIDDEN = 16", "HIDDEN = 5"))
    for npz in ("test.npz", "train.npz"):
        _digits_npz(other / npz, 4)
    first = build_user_model(_cfg(user_dir).model)
    second = build_user_model(_cfg(other).model)
    assert first[1].out_features == 16 and second[1].out_features == 5
    # an edit of the source is what the next build runs (in the same process)
    (other / "usernet.py").write_text(TINY.replace("HIDDEN = 16", "HIDDEN = 7  # edited"))
    assert build_user_model(_cfg(other).model)[1].out_features == 7


def test_checkpoint_errors_list_the_keys(user_dir: Path) -> None:
    ckpt = _save_state(user_dir)
    model = build_user_model(_cfg(user_dir).model)
    load_user_checkpoint(model, ckpt)  # the right one loads

    state = torch.load(ckpt, weights_only=True)
    state["extra.weight"] = torch.zeros(1)
    del state["1.weight"]
    torch.save(state, user_dir / "keys.pt")
    with pytest.raises(ConfigError, match=r"model.checkpoint .*keys.pt: is not a state dict of "
                       r"the factory's module; missing keys \(in the module, not the file\): "
                       r"1.weight; unexpected keys \(in the file, not the module\): "
                       r"extra.weight"):
        load_user_checkpoint(model, user_dir / "keys.pt")

    state = torch.load(ckpt, weights_only=True)
    state["1.weight"] = torch.zeros(8, 64)
    torch.save(state, user_dir / "shape.pt")
    with pytest.raises(ConfigError, match=r"does not fit the factory's module: size mismatch "
                       r"for 1.weight"):
        load_user_checkpoint(model, user_dir / "shape.pt")

    torch.save([1, 2], user_dir / "list.pt")
    with pytest.raises(ConfigError, match="holds a list, not a state dict"):
        load_user_checkpoint(model, user_dir / "list.pt")

    torch.save({"a": Path("x")}, user_dir / "object.pt")  # a pickled object: refused
    with pytest.raises(ConfigError, match=r"cannot be read as a state dict of tensors "
                       r"\(UnpicklingError\); save one with torch.save") as err:
        load_user_checkpoint(model, user_dir / "object.pt")
    assert "weights_only" not in str(err.value)  # torch's advice is not the user's option

    (user_dir / "garbage.pt").write_bytes(b"\x00not a checkpoint" * 10)
    with pytest.raises(ConfigError, match=r"cannot be read as a state dict") as err:
        load_user_checkpoint(model, user_dir / "garbage.pt")
    assert "weights_only" not in str(err.value)

    torch.save({"state_dict": torch.load(ckpt, weights_only=True)}, user_dir / "nested.pt")
    with pytest.raises(ConfigError, match=r"nested under 'state_dict'; save the state dict "
                       r"itself: torch.save\(net.state_dict\(\), path\)"):
        load_user_checkpoint(model, user_dir / "nested.pt")

    # a module saved before it ever trained lacks the activation scales Brevitas makes
    torch.save(build_user_model(_cfg(user_dir).model).state_dict(), user_dir / "fresh.pt")
    with pytest.raises(ConfigError, match=r"scaling_impl.value.*Brevitas creates these "
                       r"activation scales while the module trains"):
        load_user_checkpoint(model, user_dir / "fresh.pt")


def test_mismatched_checkpoint_fails_the_export_step(user_dir: Path) -> None:
    (user_dir / "other.py").write_text(TINY.replace("HIDDEN = 16", "HIDDEN = 8"))
    ckpt = _save_state(user_dir)
    cfg = _cfg(user_dir, {"factory": "other:make_net", "checkpoint": str(ckpt)})
    with pytest.raises(ConfigError, match=r"model.checkpoint .*net.pt: does not fit"):
        run_flow(cfg, user_dir / "build", until="export")


def test_source_and_checkpoint_edits_change_the_step_keys(user_dir: Path) -> None:
    ckpt = _save_state(user_dir)
    cfg = _cfg(user_dir, {"checkpoint": str(ckpt)})
    key, design = _step_key(cfg, "export"), cfg.design_digest()
    (user_dir / "usernet.py").write_text(TINY + "\n# an edit\n")
    edited = _step_key(cfg, "export")
    assert edited["factory_source"] != key["factory_source"]
    torch.save({k: v + 1 for k, v in torch.load(ckpt, weights_only=True).items()}, ckpt)
    assert _step_key(cfg, "export")["checkpoint"] != edited["checkpoint"]
    # the build directory stays the design's: the steps re-run, the dir is not refused
    assert cfg.design_digest() == design
    assert _step_key(cfg, "lower") == _step_key(_cfg(user_dir), "lower")


# --------------------------------------------------------------------------- train + export


def test_codesign_train_without_checkpoint_then_export(user_dir: Path) -> None:
    config = user_dir / "user.yaml"
    config.write_text(textwrap.dedent("""\
        name: user_brevitas
        model: {kind: brevitas, factory: "usernet:make_net", input_shape: [64]}
        data: {kind: npz, path: test.npz, input_type: UINT8, train: train.npz}
        train: {epochs: 3, batch_size: 32}
        fold: {target_cycles: 64}
        """))
    out = user_dir / "build"
    res = CliRunner().invoke(app, ["train", str(config), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert (out / "train" / "model.pt").is_file()
    r = run_flow(load_config(config), out, until="export").results
    assert r["steps_run"] == ["train", "export"]
    assert r["export"]["predictions_equal"] and r["export"]["n"] == 40
    assert r["accuracy"]["quantized"] == r["export"]["torch_accuracy"] > 0.3
    # what was trained is what the export loaded: the same weights, the same accuracy
    model = build_user_model(load_config(config).model)
    load_user_checkpoint(model, out / "train" / "model.pt")

    with_ckpt = user_dir / "ckpt.yaml"
    with_ckpt.write_text(config.read_text().replace(
        "input_shape: [64]}", "input_shape: [64], checkpoint: build/train/model.pt}"))
    res = CliRunner().invoke(app, ["train", str(with_ckpt), "--out", str(user_dir / "b2")])
    assert res.exit_code != 0 and "nothing to train" in res.output


# --------------------------------------------------------------------------- the example


def test_example_factory_loads_its_checkpoint() -> None:
    cfg = load_config(EXAMPLE / "cnv_w2a2.yaml")
    assert cfg.model.kind == "brevitas" and cfg.model.source_dir == EXAMPLE
    model = build_user_model(cfg.model)
    assert cfg.model.checkpoint is not None
    load_user_checkpoint(model, cfg.model.checkpoint)
    convs = [m for m in model.modules() if type(m).__name__ == "QuantConv2d"]
    assert len(convs) == 4 and all(c.weight_quant.bit_width() == 2 for c in convs)


@pytest.mark.sim
@pytest.mark.slow
def test_example_config_end_to_end(tmp_path: Path) -> None:
    """The shipped CNV-style example through every step but synthesis, on a few images:
    the export equal to torch on all 360, the accelerator bit-exact on the streamed ones."""
    cfg = load_config(EXAMPLE / "cnv_w2a2.yaml")
    cfg = cfg.model_copy(update={
        "sim": cfg.sim.model_copy(update={"simulator": "icarus", "frames": 4}),
        "synth": cfg.synth.model_copy(update={"enabled": False}),
    })
    r = run_flow(cfg, tmp_path / "build").results
    assert r["steps_run"] == ["export", "lower", "fifos", "rtl", "sim", "overflow"]
    assert r["export"]["n"] == 360 and r["export"]["predictions_equal"]
    assert r["accuracy"]["quantized"] > 0.95
    assert r["accuracy"]["hw_graph"] == r["accuracy"]["accelerator"] == r["accuracy"]["quantized"]
    assert r["agreement"] == {"hw_graph": 1.0, "accelerator": 1.0,
                              "accelerator_outputs_bit_exact": True}
    assert r["verification"]["frames"] == 4 and r["verification"]["mismatches"] == 0
    assert r["overflow"]["total"] == 0 and len(r["overflow"]["layers"]) == 6
    assert r["cycles"]["ii_error"] <= 0.05
