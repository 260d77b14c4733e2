"""The compiled spec, run twice as a KFP 2.17.0 backend would run it.

The spec is compiled by the CLI with its root and data on s3:// (moto's S3
server on loopback, as in test_kubeflow_s3.py), the subset and one epoch, the
cache on (KFP's default), and the project's checkout standing for the image's copy
(--image-project-root). tests/kfp/driver.py then runs every task of it, twice,
with distinct run ids and one ML Metadata between them, the way the backend's
driver and launcher do (backend/src/ at tag 2.17.0; the newest release, and
the one whose task layout differs most from 2.5.0's: tests/kfp/versions.py):
  - the run is refused before any task for what the Argo compiler refuses
    (v2/compiler/visitor.go:125-134) and a root objectstore refuses
    (v2/objectstore/config.go:130-152);
  - each task's ExecutorInput is the driver's (v2/driver/container.go:77-123,
    resolve.go:102-373, driver.go:741-810): an upstream artifact arrives with
    the type schema ML Metadata gives back, `instanceSchema: ""`
    (v2/metadata/client.go:245-260, 1144), its metadata converted
    (v2/metadata/converter.go:110-221), outputs named by their keys under
    <root>/<task>/<uuid>/<name>, the executor output file in that folder on
    the pod (which TFX's entry point takes for its task root and temp
    folder), plus `executor-logs` (driver.go:755-768);
  - the launcher merges the executor output file into the outputs
    (v2/component/launcher_v2.go:778-856, 1188-1237).

What is asserted: every task of both runs succeeds; run 1's examples are
byte for byte the local run's, its statistics equal, its model and training
summary on s3://; run 1 pushes a model
under the serving directory on s3://; that model predicts exactly what the
same Trainer code predicts trained here on the local run's examples (the
project's determinism: tests/test_determinism.py); run 2's Evaluator is given
run 1's pushed model as its baseline, by LatestBlessedModel
(components/baseline_model.py), while run 1's had none. Run 2's spec trains
with another seed; what depends only on unchanged inputs (ingestion,
statistics) is a cache hit, and the baselines, the Trainer and what reads
them run again.

Each task's command runs as KFP 2.17.0 may run its container
(tests/kfp/run_as.py): an unprivileged uid with no passwd entry, group 0, no
capabilities, with the image's environment (its Dockerfile's ENV: a HOME
that does not exist) and TMPDIR its pod's own /tmp. Every task writes only
there and where the launcher put its outputs: nothing else on the machine's
disk or in /dev/shm is the uid's afterwards.
"""
import copy
import json
import os
import posixpath
from pathlib import Path

import numpy as np
import pytest
from tensorflow_metadata.proto.v0 import statistics_pb2

from foundation import names
from foundation.names import TRAINING_SUMMARY_FILE
from tests.fixtures.data import PROJECT_ROOT
from tests.fixtures.kubeflow import KUBEFLOW_SUBSET
from tests.fixtures.s3 import BUCKET, NO_CLOUD, SECRETS
from tests.kfp import driver as kfp_driver
from tests.kfp import image as dockerfile
from tests.kfp import run_as
from tests.kfp.launcher import LauncherError
from tests.kfp.mlmd import Backend
from tests.kfp.versions import V2_17_0

pytestmark = [pytest.mark.e2e, pytest.mark.cost(minutes=7)]

RUN_IDS = ("driver-e2e-run-1", "driver-e2e-run-2")
# The image's own environment (its Dockerfile's ENV, the checkout standing
# for its /app), and no cloud metadata service.
IMAGE_ENV = {**dockerfile.env(str(PROJECT_ROOT)), **NO_CLOUD}


@pytest.fixture(scope="module")
def compiled(kubeflow_s3_compiled):
    """(config, pipeline spec, platform spec): conftest's s3 compile."""
    cfg, _, spec, platform = kubeflow_s3_compiled
    return cfg, spec, platform


@pytest.fixture(scope="module")
def task_user(tmp_path_factory):
    """(the runs' directory, the tasks' user, why it cannot run them here or
    None, a marker made before the runs: tests/kfp/run_as.py)."""
    work_dir = tmp_path_factory.mktemp("kfp_driver_runs")
    os.chmod(work_dir, 0o755)  # the pods' own files, which their uid reads
    user = run_as.RunAs([str(work_dir), str(PROJECT_ROOT)])
    since = run_as.marker(str(tmp_path_factory.mktemp("kfp_driver_since")))
    yield str(work_dir), user, user.why_not(), since
    user.close()


@pytest.fixture(scope="module")
def runs(compiled, task_user):
    """Both runs, or the LauncherError that refused the first: raised by
    each test (a fixture's exception would be an error, not the xfail)."""
    cfg, spec, platform = compiled
    work_dir, user, why_not, _ = task_user
    backend = Backend()  # one ML Metadata, as in a cluster
    done = []
    try:
        for run_id, run_spec in zip(RUN_IDS, (spec, _with_another_seed(spec))):
            done.append(kfp_driver.run_pipeline(
                run_spec, cfg.pipeline_root, run_id, work_dir, platform=platform, secrets=SECRETS,
                image_env=IMAGE_ENV, backend=backend, version=V2_17_0, run_as=None if why_not else user,
            ))
            if done[-1].failed:
                break  # run 2 means nothing after a failed run 1
    except LauncherError as refused:
        return refused
    return done


def _with_another_seed(spec):
    """The spec a user compiles after changing one training setting: run 2
    trains a new candidate (the same model would be its own baseline, which
    LatestBlessedModel never chooses), and everything upstream is the cache's."""
    changed = copy.deepcopy(spec)
    constant = changed["root"]["dag"]["tasks"][names.TRAINER]["inputs"]["parameters"]["custom_config"]["runtimeValue"]
    custom_config = json.loads(constant["constant"])
    custom_config["seed"] += 1
    constant["constant"] = json.dumps(custom_config)
    return changed


def _runs(runs):
    if isinstance(runs, LauncherError):
        raise runs
    return runs


def _task_failures(run):
    return {name: task.error[-2000:] for name, task in run.tasks.items() if not task.succeeded}


def test_every_task_of_both_runs_succeeds(runs, compiled):
    _, spec, _ = compiled
    done = _runs(runs)
    assert len(done) == 2, _task_failures(done[-1])
    for run in done:
        assert run.failed is None, _task_failures(run)
        assert set(run.tasks) == set(spec["root"]["dag"]["tasks"])


def test_every_task_ran_as_an_unprivileged_uid_writing_only_its_outputs_and_temp_dir(runs, task_user):
    work_dir, user, why_not, since = task_user
    if why_not:
        run_as.cannot(why_not)
    done = _runs(runs)
    written = run_as.written_by(user.uid, since)
    # Only what the launcher gave each task: its /tmp and its outputs' directories.
    assert run_as.outside(written, user.writable) == []
    for run in done:
        for name, task in run.tasks.items():
            if not task.cached:  # its executor output file, at least, is the uid's
                task_dir = os.path.join(work_dir, run.run_id, name) + "/"
                assert any(p.startswith(task_dir) and os.path.isfile(p) for p in written), name


SPLITS = ("train", "eval")


def _key(uri):
    assert uri.startswith(f"s3://{BUCKET}/"), uri
    return uri[len(f"s3://{BUCKET}/"):]


def _keys(s3, prefix):
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


def _output(run, node, key):
    return run.tasks[node].outputs[key]


def test_ingestion_writes_the_local_runs_examples_byte_for_byte(runs, s3, local_outputs):
    examples = _output(_runs(runs)[0], names.EXAMPLE_GEN, names.EXAMPLES_KEY)
    assert examples["metadata"]["example_counts"] == {s: KUBEFLOW_SUBSET for s in SPLITS}
    local_dir = Path(local_outputs[names.EXAMPLE_GEN])
    for split in SPLITS:
        local_files = sorted((local_dir / f"Split-{split}").iterdir())
        keys = _keys(s3, f"{_key(examples['uri'])}/Split-{split}/")
        assert [posixpath.basename(k) for k in keys] == [f.name for f in local_files]
        for key, local_file in zip(keys, local_files):
            assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == local_file.read_bytes(), key


def test_statistics_equal_the_local_runs(runs, s3, local_outputs):
    stats = _output(_runs(runs)[0], names.STATISTICS_GEN, names.STATISTICS_KEY)
    for split in SPLITS:
        from_s3 = statistics_pb2.DatasetFeatureStatisticsList()
        key = f"{_key(stats['uri'])}/Split-{split}/FeatureStats.pb"
        from_s3.ParseFromString(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
        local = statistics_pb2.DatasetFeatureStatisticsList()
        local.ParseFromString((Path(local_outputs[names.STATISTICS_GEN]) / f"Split-{split}" / "FeatureStats.pb").read_bytes())
        assert from_s3.datasets[0].num_examples == KUBEFLOW_SUBSET
        assert from_s3 == local


def test_the_trainer_writes_its_model_and_summary_to_s3(runs, s3, compiled):
    cfg, _, _ = compiled
    run_1 = _runs(runs)[0]
    model = _output(run_1, names.TRAINER, names.MODEL_KEY)
    assert model["uri"].startswith(cfg.pipeline_root + "/")
    assert f"{_key(model['uri'])}/Format-Serving/saved_model.pb" in _keys(s3, _key(model["uri"]))
    model_run = _output(run_1, names.TRAINER, names.MODEL_RUN_KEY)
    summary = json.loads(s3.get_object(Bucket=BUCKET, Key=f"{_key(model_run['uri'])}/{TRAINING_SUMMARY_FILE}")["Body"].read())
    assert summary["hyperparameters"]["epochs"] == 1 and len(summary["history"]) == 1  # as compiled


def _pushed(run):
    """The Pusher's pushed_model as the launcher left it (URI and metadata merged)."""
    return run.tasks["Pusher"].outputs["pushed_model"]


def test_run_1_pushes_a_model_under_the_serving_dir(runs, compiled, s3):
    cfg, _, _ = compiled
    run_1 = _runs(runs)[0]
    pushed = _pushed(run_1)
    assert pushed["metadata"]["pushed"] == 1
    destination = pushed["metadata"]["pushed_destination"]
    assert destination.startswith(cfg.serving_dir + "/"), destination
    key = destination[len(f"s3://{BUCKET}/"):] + "/saved_model.pb"
    assert s3.head_object(Bucket=BUCKET, Key=key)["ContentLength"] > 0


def _download(s3, uri, local_dir):
    prefix = uri[len(f"s3://{BUCKET}/"):].rstrip("/") + "/"
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        for obj in page.get("Contents", []):
            target = os.path.join(local_dir, obj["Key"][len(prefix):])
            os.makedirs(os.path.dirname(target), exist_ok=True)
            s3.download_file(BUCKET, obj["Key"], target)
    return local_dir


def _predictions(model_dir, images):
    import tensorflow as tf

    from trainer_module.features import PREDICTIONS_KEY, SERVING_IMAGES

    serve = tf.saved_model.load(model_dir).signatures[SERVING_IMAGES]
    return serve(images=tf.constant(images))[PREDICTIONS_KEY].numpy()


def test_the_pushed_model_predicts_what_the_local_run_predicts(runs, compiled, s3, local_outputs, mnist_source, tmp_path):
    """The local run's examples (byte-identical to the task's, above)
    trained here by the same Trainer code with the
    Trainer task's own custom_config: the same model, bit for bit."""
    _, spec, _ = compiled
    pushed = _pushed(_runs(runs)[0])
    from_kfp = _download(s3, pushed["metadata"]["pushed_destination"], str(tmp_path / "pushed"))

    from tfx.components.trainer.fn_args_utils import FnArgs

    from trainer_module import task

    parameters = spec["root"]["dag"]["tasks"]["Trainer"]["inputs"]["parameters"]
    custom_config = json.loads(parameters["custom_config"]["runtimeValue"]["constant"])
    examples = local_outputs["MnistExampleGen"]
    task.run_fn(FnArgs(  # TFX's own: every field the executor sets
        train_files=[posixpath.join(examples, "Split-train", "*")],
        eval_files=[posixpath.join(examples, "Split-eval", "*")],
        custom_config=custom_config, serving_model_dir=str(tmp_path / "local" / "model"),
        model_run_dir=str(tmp_path / "local" / "run"),
    ))
    images = mnist_source.load("eval").images[:KUBEFLOW_SUBSET].astype(np.float32)[..., None] / 255.0
    np.testing.assert_array_equal(_predictions(from_kfp, images), _predictions(str(tmp_path / "local" / "model"), images))


def _baseline_given_to_the_evaluator(run):
    [baseline] = run.tasks["Evaluator"].executor_input["inputs"]["artifacts"]["baseline_model"]["artifacts"]
    return baseline


def test_run_2_evaluates_against_run_1s_pushed_model(runs, s3):
    run_1, run_2 = _runs(runs)
    assert _baseline_given_to_the_evaluator(run_1)["metadata"]["baseline_version"] == ""
    pushed = _pushed(run_1)["metadata"]
    baseline = _baseline_given_to_the_evaluator(run_2)
    assert baseline["metadata"]["baseline_version"] == pushed["pushed_version"]
    assert baseline["uri"] == run_2.tasks["LatestBlessedModel"].outputs["baseline_model"]["uri"]
    # The pushed SavedModel, copied where TFX's Evaluator reads a Model artifact.
    copied = baseline["uri"][len(f"s3://{BUCKET}/"):] + "/Format-Serving/saved_model.pb"
    original = pushed["pushed_destination"][len(f"s3://{BUCKET}/"):] + "/saved_model.pb"
    assert s3.get_object(Bucket=BUCKET, Key=copied)["Body"].read() == s3.get_object(Bucket=BUCKET, Key=original)["Body"].read()


def test_run_2_reuses_the_cache_up_to_what_the_new_seed_and_the_baselines_change(runs):
    run_2 = _runs(runs)[1]
    cached = {name for name, task in run_2.tasks.items() if task.cached}
    assert {names.SCHEMA_GEN, names.EXAMPLE_GEN, names.STATISTICS_GEN, names.EXAMPLE_VALIDATOR} <= cached, cached
    assert not cached & {names.BASELINE_STATISTICS, names.TRAINER, names.BASELINE, names.EVALUATOR, names.PUSHER}, cached
