"""Writes the report: `summary.json` and `report.html` in the report artifact,
and the same page as the `system.HTML` artifact the Kubeflow UI displays.

The summary's key figures (accuracy, per digit, the verdict and why) also go
on the report artifact as custom properties: `runs` and `lineage` read them
from ML Metadata, with no TensorFlow and no file to open. On a cache hit TFX
links the same artifact to the new run, properties included.
"""
import json
import os
from typing import Any, Dict, List

from tfx import types
from tfx.dsl.components.base import base_executor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils

from components.data_checks import CHECKS_PROPERTY
from components.evaluation_report import gather, render, summary
from foundation import names

# Each a required input; the ServingCheck's blessing and the ValidationGate's
# data checks are optional.
INPUT_KEYS = (names.EVALUATION_KEY, names.BLESSING_KEY, names.STATISTICS_KEY, names.ANOMALIES_KEY,
              names.MODEL_KEY, names.MODEL_RUN_KEY, names.EXAMPLES_KEY)


class Executor(base_executor.BaseExecutor):
    def Do(
        self,
        input_dict: Dict[str, List[types.Artifact]],
        output_dict: Dict[str, List[types.Artifact]],
        exec_properties: Dict[str, Any],
    ) -> None:
        context = self._context
        pipeline_info = context.pipeline_info if context else None
        facts = gather.gather(
            **{key: artifact_utils.get_single_instance(input_dict[key]) for key in INPUT_KEYS},
            infra_blessing=(input_dict.get(names.INFRA_BLESSING_INPUT_KEY) or [None])[0],
            run_id=context.pipeline_run_id if context else None,
            pipeline_name=pipeline_info.id if pipeline_info else None,
        )
        if input_dict.get(names.DATA_CHECKS_KEY):
            recorded = input_dict[names.DATA_CHECKS_KEY][0].get_string_custom_property(CHECKS_PROPERTY)
            facts["data"]["checks"] = json.loads(recorded) if recorded else None
        if input_dict.get(names.TUNER_RESULTS_KEY):
            results = input_dict[names.TUNER_RESULTS_KEY][0]
            if results.has_custom_property(names.SEARCH_PROPERTY):
                facts["search"] = results.get_json_value_custom_property(names.SEARCH_PROPERTY)
        page = render.render(facts)

        report = artifact_utils.get_single_instance(output_dict[names.REPORT_KEY])
        fileio.makedirs(report.uri)
        with fileio.open(os.path.join(report.uri, names.REPORT_SUMMARY_FILE), "w") as f:
            json.dump(facts, f, indent=1)
        with fileio.open(os.path.join(report.uri, names.REPORT_HTML_FILE), "w") as f:
            f.write(page)
        _record(report, summary.key_figures(facts))

        html = artifact_utils.get_single_instance(output_dict[names.HTML_KEY])
        html.value = page  # the file at the artifact's URI, where KFP's UI reads it
        # The KFP UI lists only artifacts with a display name.
        html.set_string_custom_property("display_name", "evaluation report")


def _record(artifact: types.Artifact, figures: Dict[str, Any]) -> None:
    for key, value in figures.items():
        if value is None:
            continue  # absent, rather than a made-up 0
        if isinstance(value, dict):
            artifact.set_json_value_custom_property(key, value)
        elif isinstance(value, float):
            artifact.set_float_custom_property(key, value)
        elif isinstance(value, int):
            artifact.set_int_custom_property(key, value)
        else:
            artifact.set_string_custom_property(key, value)
