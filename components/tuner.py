"""The Tuner: TFX's own (same node, spec and outputs), with an executor that
also keeps the search's record on ML Metadata.

TFX's executor writes the best hyperparameters and each trial's score. The
record (trainer_module/search_record.py) adds what a reader of the run needs
to trust the choice: the slice of the training split that scored the trials,
its size and class balance, and each trial's settings and time. It goes on
the `tuner_results` artifact as a custom property, where `runs show` reads it
without TensorFlow and the EvaluationReporter puts it in the report.
"""
from typing import Any, Dict, List

from tfx import types
from tfx.components import Tuner as TfxTuner
from tfx.components.tuner import executor as tfx_tuner
from tfx.dsl.components.base import executor_spec
from tfx.types import artifact_utils, standard_component_specs

from foundation import names
from trainer_module import search_record


class TunerExecutor(tfx_tuner.Executor):
    def Do(
        self,
        input_dict: Dict[str, List[types.Artifact]],
        output_dict: Dict[str, List[types.Artifact]],
        exec_properties: Dict[str, Any],
    ) -> None:
        # TFX's Do, which does not hand back the tuner whose record this keeps.
        if tfx_tuner.get_tune_args(exec_properties):
            raise ValueError("TuneArgs is not supported by this Tuner's Executor.")
        tuner = tfx_tuner.search(input_dict, exec_properties, self._get_tmp_dir())
        tfx_tuner.write_best_hyperparameters(tuner, output_dict)
        record = getattr(tuner, search_record.ATTRIBUTE, None)
        if record:
            results = artifact_utils.get_single_instance(
                output_dict[standard_component_specs.TUNER_RESULTS_KEY]
            )
            results.set_json_value_custom_property(names.SEARCH_PROPERTY, record)


class Tuner(TfxTuner):
    """TFX's Tuner with the executor above."""

    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(TunerExecutor)
