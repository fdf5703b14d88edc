"""Starting a quantized model from its trained float twin (``train.init: float``), as the
A2Q papers do for their classifiers (A2Q+, Colbert et al. 2024, App. B.1).

A copy of the twin's state dict is not enough on its own:

* a weight quantizer's parameters (per-channel scale s, A2Q's norm g) are initialised
  from the weights when its layer is built, so they are initialised again from the
  copied weights;
* A2Q clamps g to the largest L1 norm P allows (``s * T`` per channel). Float weights lie
  far above it at a small P, and the clamp shrinks every weight of a channel by one
  factor: the layer's output shrinks with it, and the copied BatchNorm statistics no
  longer fit (measured: 10 % on the digits CNN at P = 14 and 16). Each channel is fitted
  instead (:func:`fit_to_acc_limit`), between A2Q+'s EP-init (the weights projected onto
  the L1 ball at the 8-bit scale) and a scale raised until they fit;
* the activation quantizers have no float counterpart: their ranges are calibrated on
  the training images (Brevitas's calibration mode, as its post-training quantization).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy.typing as npt
import torch
from brevitas.core.scaling import AccumulatorAwareParameterPreScaling
from brevitas.nn.quant_layer import QuantWeightBiasInputOutputLayer as QuantWBIOL
from brevitas.quant_tensor import IntQuantTensor
from torch import nn

from codesign.frontend.quant.train import as_tensors


def init_from_float(
    model: nn.Module, float_state: Mapping[str, torch.Tensor], x: npt.ArrayLike,
    batch_size: int = 64,
) -> dict[str, float]:
    """Start the quantized ``model`` from its float twin's state: weights, biases and
    BatchNorm statistics copied (same module names), each accumulator-constrained layer's
    weights and quantizer fitted to its P, the activation quantizers calibrated on ``x``.
    The model is left in eval mode. Returns, per constrained layer, the relative error of
    its initial quantized weights (see :func:`fit_to_acc_limit`).

    A float value with no place in the model, or a parameter other than a quantizer's
    without a float value, is a ValueError: the twin would not be the same network."""
    copy_float_state(model, float_state)
    error = fit_to_acc_limit(model, as_tensors(x)[0][:batch_size])
    calibrate_activations(model, x, batch_size)
    return error


def copy_float_state(model: nn.Module, float_state: Mapping[str, torch.Tensor]) -> None:
    """Load the float twin's values and initialise every weight quantizer from the loaded
    weights (Brevitas does so on load unless BREVITAS_REINIT_ON_STATE_DICT_LOAD=0)."""
    loaded = model.load_state_dict(dict(float_state), strict=False)
    stray = [k for k in loaded.missing_keys if not _quantizer_key(k)]
    if loaded.unexpected_keys or stray:
        raise ValueError(
            "the float twin's state does not fit the quantized model: "
            f"{len(loaded.unexpected_keys)} values without a place "
            f"({', '.join(loaded.unexpected_keys[:3])}), {len(stray)} parameters without a "
            f"value ({', '.join(stray[:3])})"
        )
    for module in model.modules():
        if isinstance(module, QuantWBIOL):
            module.weight_quant.init_tensor_quant()


def _quantizer_key(key: str) -> bool:
    """A parameter of a Brevitas quantizer (``...weight_quant...``, ``...act_quant...``)."""
    return any(part.endswith("_quant") for part in key.split("."))


SCALE_CANDIDATES = 24
"""Scales tried per channel, geometrically spaced (see :func:`fit_to_acc_limit`)."""


def fit_to_acc_limit(model: nn.Module, x: torch.Tensor) -> dict[str, float]:
    """Fit each accumulator-constrained layer's copied weights to its P, per output
    channel, keeping the quantized weights near the float ones.

    A2Q's integer weights q = w / s (rounded to zero) must keep ||q||_1 <= T (the limit
    for P and the layer's input width, read from one forward of ``x``). Two ways to get
    there: keep the 8-bit scale s and project w onto the L1 ball of radius s * T (A2Q+'s
    EP-init, which at a tight P leaves a few weights and shrinks the layer's output), or
    raise s until ||w||_1 / s fits (a coarser grid, the output kept). Per channel, the
    scale between those two (``SCALE_CANDIDATES`` of them) whose projected, rounded weights
    are nearest w (squared error) is taken; s (both of the quantizer's copies) and g are
    set so that the quantizer computes exactly those weights. A2Q+ works on each
    channel's zero-centred weights. Returns each layer's relative error
    ||w - q s||_2 / ||w||_2 (centred for A2Q+)."""
    inputs = _layer_inputs(model, x)
    error = {}
    with torch.no_grad():
        for name, layer in model.named_modules():
            pre = _pre_scaling(layer)
            if pre is None or name not in inputs:
                continue
            w = layer.weight.detach().reshape(layer.weight.shape[0], -1).clone()
            centre = _centre(pre, w)
            limit = pre.calc_max_l1_norm(inputs[name].bit_width, bool(inputs[name].signed))
            # A2Q's integers are narrow: +-(2^(b-1) - 1)
            bits = int(layer.weight_quant.tensor_quant.msb_clamp_bit_width_impl())
            qmax = float(2 ** (bits - 1) - 1)
            scale, fitted = _best_scale(w - centre, pre.scaling_impl(w).reshape(-1), limit, qmax)
            layer.weight.copy_((fitted + centre).reshape(layer.weight.shape))
            for impl in (pre.scaling_impl, layer.weight_quant.tensor_quant.scaling_impl):
                _set_value(impl, scale)
            _set_value(pre, fitted.abs().sum(dim=1))
            q = torch.trunc(fitted / scale[:, None]).clamp(-qmax, qmax)
            error[name] = float((w - centre - q * scale[:, None]).norm() / (w - centre).norm())
    return error


def _best_scale(v: torch.Tensor, s8: torch.Tensor, limit: torch.Tensor,
                qmax: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per row of ``v``: the scale from ``s8`` up to the one at which the row's L1 norm
    fits ``limit``, and the row projected onto the ball of radius scale * limit, whose
    rounded-to-zero, clipped integers reconstruct it best."""
    s_fit = torch.maximum(s8, v.abs().sum(dim=1) / limit)
    best_err = torch.full_like(s8, float("inf"))
    best_s, best_w = s8.clone(), v.clone()
    for k in range(SCALE_CANDIDATES):
        s = s8 * (s_fit / s8) ** (k / (SCALE_CANDIDATES - 1))
        w = l1_ball(v, s * limit)
        q = torch.trunc(w / s[:, None]).clamp(-qmax, qmax)
        err = ((v - q * s[:, None]) ** 2).sum(dim=1)
        better = err < best_err
        best_err = torch.where(better, err, best_err)
        best_s = torch.where(better, s, best_s)
        best_w = torch.where(better[:, None], w, best_w)
    return best_s, best_w


def _set_value(impl: Any, linear: torch.Tensor) -> None:
    """Set a Brevitas learned value (a scale, A2Q's g) to ``linear`` in its own domain."""
    restrict = impl.restrict_clamp_scaling.restrict_value_impl
    impl.value.copy_(restrict.restrict_init_tensor(linear).reshape(impl.value.shape))


def _pre_scaling(layer: nn.Module) -> Any:
    """The A2Q norm module of an accumulator-constrained layer, else None."""
    if not isinstance(layer, QuantWBIOL):
        return None
    return next((m for m in layer.weight_quant.modules()
                 if isinstance(m, AccumulatorAwareParameterPreScaling)), None)


def _centre(pre: Any, w: torch.Tensor) -> torch.Tensor:
    """Each channel's mean where the quantizer zero-centres its weights (A2Q+), else 0."""
    if not hasattr(pre, "pre_zero_point"):
        return torch.zeros_like(w[:, :1])
    return w.mean(dim=1, keepdim=True)


def _layer_inputs(model: nn.Module, x: torch.Tensor) -> dict[str, IntQuantTensor]:
    """The quantized input of each constrained layer in one eval forward of ``x``."""
    seen: dict[str, IntQuantTensor] = {}
    hooks = []
    for name, layer in model.named_modules():
        if _pre_scaling(layer) is not None:

            def hook(_m: nn.Module, args: tuple[Any, ...], _out: Any, name: str = name) -> None:
                if isinstance(args[0], IntQuantTensor):
                    seen.setdefault(name, args[0])

            hooks.append(layer.register_forward_hook(hook))
    model.eval()
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    return seen


def l1_ball(v: torch.Tensor, radius: torch.Tensor) -> torch.Tensor:
    """Each row of ``v`` projected onto the L1 ball of its ``radius`` (> 0): the closest
    point in Euclidean distance (Duchi et al., ICML 2008): magnitudes shrunk by one
    threshold, the smallest to zero; a row inside its ball is kept.

    >>> l1_ball(torch.tensor([[3.0, -1.0], [0.5, 0.25]]), torch.tensor([2.0, 1.0])).tolist()
    [[2.0, -0.0], [0.5, 0.25]]
    """
    a = v.abs()
    u = a.sort(dim=1, descending=True).values
    cumulative = u.cumsum(dim=1)
    k = torch.arange(1, v.shape[1] + 1, dtype=v.dtype)
    # the largest k whose k-th magnitude stays above the threshold it implies
    rho = (u * k > cumulative - radius[:, None]).to(v.dtype).mul(k).amax(dim=1)
    theta = (cumulative.gather(1, rho.long()[:, None] - 1)[:, 0] - radius) / rho
    shrunk = v.sign() * (a - theta[:, None]).clamp(min=0)
    return torch.where((a.sum(dim=1) <= radius)[:, None], v, shrunk)


def calibrate_activations(model: nn.Module, x: npt.ArrayLike, batch_size: int = 64) -> None:
    """Initialise the activation quantizers' ranges from ``x`` (Brevitas's calibration
    mode: float activations, the average of their statistics over the batches); the
    weights and BatchNorm statistics are not changed. Leaves the model in eval mode."""
    from brevitas.graph.calibrate import calibration_mode

    xt, _ = as_tensors(x)
    model.eval()
    with torch.no_grad(), calibration_mode(model):
        for i in range(0, len(xt), batch_size):
            model(xt[i : i + batch_size])
    model.eval()
