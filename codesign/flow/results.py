"""``results.json``: assembled from the summaries of the steps that ran."""

from __future__ import annotations

from codesign.config import FlowConfig
from codesign.flow.build import JSON


def verification_of(s: JSON) -> JSON | None:
    """The stream verification of every backend that ran, under ``backends`` (rtl: the
    cocotb simulation, hls: the g++ C-simulation); the RTL record's keys also stay at the
    top level, and ``passed`` holds for every backend."""
    backends = {name: s[step]["verification"] for name, step in (("rtl", "sim"), ("hls", "csim"))
                if step in s}
    if not backends:
        return None
    top = dict(backends.get("rtl", {}))
    top["backends"] = backends
    top["passed"] = all(v["passed"] for v in backends.values())
    return top


def ii_of(s: JSON) -> JSON | None:
    """The accelerator's initiation interval (cycles per frame) and where the figure comes
    from: ``measured`` in the RTL simulation (step sim), else ``estimated``, the slowest
    node's kernel estimate (over the stream graph as built where the rtl step ran, else
    over the lower step's layers). ``estimated`` and ``slowest_node`` are kept either
    way; None before lowering."""
    est: int | None = None
    node: str | None = None
    if "rtl" in s:
        est, node = s["rtl"]["est_ii_cycles"], s["rtl"]["est_ii_node"]
    elif layers := s.get("lower", {}).get("layers"):
        slowest = max(layers, key=lambda ly: ly["cycles"])
        est, node = slowest["cycles"], slowest["name"]
    measured = s.get("sim", {}).get("cycles")
    if measured:
        return {"cycles": measured["ii_measured"], "source": "measured", "estimated": est,
                "slowest_node": node}
    if est is None:
        return None
    return {"cycles": est, "source": "estimated", "estimated": est, "slowest_node": node}


def scores_of(name: str, s: JSON) -> JSON:
    """The family's metric ``name`` (``accuracy``, ``psnr``) of the float twin, the
    quantized model, the lowered graph and the accelerator, from the step summaries."""
    runs = s.get("train", {}).get("runs", {})
    scores = {
        "float": runs.get("float", {}).get(f"test_{name}"),
        # torch's accuracy: the trained model's, or a user checkpoint's (export step)
        "quantized": runs.get("quant", {}).get(
            f"test_{name}", (s.get("export", {}).get("equivalence") or {}).get(f"torch_{name}")
        ),
        "hw_graph": s.get("lower", {}).get(f"hw_graph_{name}"),
        "accelerator": s.get("rtl", {}).get(f"accelerator_{name}"),
    }
    if scores["float"] and scores["quantized"] is not None:
        scores["quantized_vs_float"] = scores["quantized"] / scores["float"]
    # train.init float: the quantized model as initialised from the float twin, before
    # any fine-tuning
    if (init := runs.get("quant", {}).get("init")) is not None:
        scores["quantized_at_init"] = init.get(f"test_{name}")
    return scores


def assemble_results(cfg: FlowConfig, s: JSON) -> JSON:
    from codesign.frontend.models import family

    metric = family(cfg.model.kind).metric
    runs = s.get("train", {}).get("runs", {})
    lower = s.get("lower", {})
    verification = verification_of(s)
    vitis = s.get("csim", {}).get("vitis_hls")
    return {
        "name": cfg.name,
        "digest": cfg.digest(),
        "design_digest": cfg.design_digest(),
        "config": cfg.model_dump(mode="json"),
        "steps_run": list(s),
        # what the family is measured by, and its scores under the metric's name
        "metric": {"name": metric.name, "label": metric.label, "unit": metric.unit},
        metric.name: scores_of(metric.name, s),
        # predictions (a classifier's) or output tensors (an image family's) equal to the
        # graph's (QONNX / the imported file), and every output word of the simulated
        # accelerator equal to the reference: no labels needed
        "agreement": {
            "hw_graph": lower.get("hw_graph_agreement"),
            "accelerator": s.get("rtl", {}).get("accelerator_agreement"),
            "accelerator_outputs_bit_exact": verification and verification["passed"],
        },
        "import": {k: v for k, v in s.get("import", {}).items() if k != "artefacts"} or None,
        "export": s.get("export", {}).get("equivalence"),
        "layers": lower.get("layers", []),
        "folding": lower.get("folding"),
        "verification": verification,
        "cycles": s.get("sim", {}).get("cycles"),
        "ii": ii_of(s),
        "overflow": s.get("overflow"),
        "fifos": {k: v for k, v in s.get("fifos", {}).items() if k != "depths"} or None,
        "resources": {k: v for k, v in s.get("synth", {}).items() if k != "artefacts"} or None,
        "hls_synthesis": vitis,
        # a model adapted to data.domain: source / target accuracy before and after
        "adaptation": {k: r["adaptation"] for k, r in runs.items() if "adaptation" in r} or None,
        "parameters": s.get("train", {}).get("parameters"),
    }
