"""The ServingCheck's executor: runs check.py and writes TFX's InfraBlessing.

The blessing is written exactly as TFX's InfraValidator writes it
(tfx/components/infra_validator/executor.py:114-125 at TFX 1.16.0): an empty
INFRA_BLESSED or INFRA_NOT_BLESSED file in the artifact's directory and the
int custom property `blessed` (1 or 0). The stock Pusher reads that property
(tfx/components/pusher/executor.py:89-96, model_utils.is_infra_validated) and
pushes nothing unless it is 1; so does VersionedPusher, which inherits
CheckBlessing. Like the InfraValidator, a refused model does not fail the
run: the Pusher records that it did not push, and the reasons are kept on
the artifact.
"""
import json
import os
from typing import Any, Dict, List

from tfx import types
from tfx.dsl.components.base import base_executor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils
from tfx.utils import path_utils

from components.serving_check import check, early
from foundation import text
from foundation.names import (
    EVAL_SPLIT,
    EXAMPLES_KEY,
    INFRA_BLESSING_KEY,
    MODEL_KEY,
    SERVING_CHECK_RESULT_FILE,
    SERVING_LATENCY_PROPERTY,
    SERVING_REASON_PROPERTY,
)

P99_MS_BATCH_1_KEY = "p99_ms_batch_1"
P99_MS_BATCH_32_KEY = "p99_ms_batch_32"
NUM_EXAMPLES_KEY = "num_examples"

# As tfx/components/infra_validator/executor.py:58-63 names them.
BLESSED_PROPERTY = "blessed"
BLESSED_FILE = "INFRA_BLESSED"
NOT_BLESSED_FILE = "INFRA_NOT_BLESSED"
# This component's own, for `runs show` and the report (ML Metadata alone).


def mark(blessing: types.Artifact, result: check.Result) -> None:
    """Writes the result, then TFX's blessing file and property.

    One makedirs, before either file exists: tensorflow-io's S3 CreateDir
    writes an empty "dir/" object when the directory already exists, by its
    inverted check (tensorflow/io#1597, open at 0.37.1), and a KFP launcher
    downloading the artifact fails on that object (tests/kfp/launcher.py,
    Bucket.download). Once, a driver-faithful KFP run did fail so here.
    """
    fileio.makedirs(blessing.uri)
    files = {
        SERVING_CHECK_RESULT_FILE: json.dumps(result.to_json(), indent=1),
        BLESSED_FILE if result.blessed else NOT_BLESSED_FILE: "",
    }
    for name, content in files.items():
        with fileio.open(os.path.join(blessing.uri, name), "w") as f:
            f.write(content)
    blessing.set_int_custom_property(BLESSED_PROPERTY, 1 if result.blessed else 0)
    blessing.set_string_custom_property(SERVING_REASON_PROPERTY, "; ".join(result.reasons))
    latency = {
        str(size): {p: result.worst(size, p) for p in ("p50_ms", "p99_ms")}
        for size in check.BATCH_SIZES if result.worst(size, "p99_ms") is not None
    }
    blessing.set_string_custom_property(SERVING_LATENCY_PROPERTY, json.dumps(latency))


class Executor(base_executor.BaseExecutor):
    def Do(
        self,
        input_dict: Dict[str, List[types.Artifact]],
        output_dict: Dict[str, List[types.Artifact]],
        exec_properties: Dict[str, Any],
    ) -> None:
        model = artifact_utils.get_single_instance(input_dict[MODEL_KEY])
        examples = artifact_utils.get_single_instance(input_dict[EXAMPLES_KEY])
        blessing = artifact_utils.get_single_instance(output_dict[INFRA_BLESSING_KEY])
        bounds = check.Bounds(
            p99_ms={1: float(exec_properties[P99_MS_BATCH_1_KEY]),
                    32: float(exec_properties[P99_MS_BATCH_32_KEY])},
            num_examples=int(exec_properties[NUM_EXAMPLES_KEY]),
        )
        model_path = path_utils.serving_model_path(model.uri)
        result = check.run(
            model_path, artifact_utils.get_split_uri([examples], EVAL_SPLIT), bounds,
            probe=early.take(model_path),
        )
        mark(blessing, result)
        p99 = {size: result.worst(size, "p99_ms") for size in check.BATCH_SIZES} if result.blessed else None
        print(text.serving_verdict(result.blessed, result.reasons, p99), flush=True)
