"""FINN lowering: QONNX -> streamlined FINN-ONNX -> generic HW layers -> folded dataflow.

Named steps ``step(model, cfg) -> model`` in :data:`LOWER_STEPS`, a runner that saves
every intermediate model, the per-layer table read from node attributes, and Python
execution of the lowered graphs. No vendor tool is needed: FINN's transformations run
directly and the generic (unspecialized) HW layers execute in Python.
"""

import codesign.dataflow.lower._finn_compat  # noqa: F401  (FINN fixes, before any lowering)
from codesign.dataflow.lower._graph import (
    dataflow_child,
    dataflow_input,
    execute_dataflow,
    execute_float64,
    execute_host_tail,
    execute_parent,
    fpga_part,
)
from codesign.dataflow.lower.estimates import LayerInfo, layer_table
from codesign.dataflow.lower.folding import validate_folding
from codesign.dataflow.lower.runner import LowerResult, load_lowered, run_lower, step_names
from codesign.dataflow.lower.steps import (
    LOWER_STEPS,
    Step,
    step_convert_to_hw,
    step_create_dataflow_partition,
    step_estimates,
    step_fold,
    step_insert_dwc_and_fifos,
    step_minimize_accumulator_width,
    step_qonnx_to_finn,
    step_roll_loops,
    step_streamline,
    step_tidy_up,
)

__all__ = [
    "LOWER_STEPS",
    "LayerInfo",
    "LowerResult",
    "Step",
    "dataflow_child",
    "dataflow_input",
    "execute_dataflow",
    "execute_float64",
    "execute_host_tail",
    "execute_parent",
    "fpga_part",
    "layer_table",
    "load_lowered",
    "run_lower",
    "step_convert_to_hw",
    "step_create_dataflow_partition",
    "step_estimates",
    "step_fold",
    "step_insert_dwc_and_fifos",
    "step_minimize_accumulator_width",
    "step_names",
    "step_qonnx_to_finn",
    "step_roll_loops",
    "step_streamline",
    "step_tidy_up",
    "validate_folding",
]
