"""The container image's Dockerfile, checked as text (no Docker engine here)."""
import os
import re
from pathlib import Path

from foundation import keras_choice
from pipeline import config as config_lib
from tests.fixtures.data import PROJECT_ROOT
from tests.kfp import image as dockerfile


def _pins(lock: Path):
    return dict(re.findall(r"^([A-Za-z0-9_.\-\[\]]+)==(\S+)", lock.read_text(), re.M))


def test_base_image_is_pinned_python_3_10():
    [base] = [args for op, args in dockerfile.instructions() if op == "FROM"]
    # An exact patch release and Debian release, or a digest: never a moving tag.
    assert re.fullmatch(r"python:3\.10\.\d+-slim-[a-z]+(@sha256:[0-9a-f]{64})?", base), base


def test_dependencies_come_from_the_runtime_lock_with_hashes():
    runs = [args for op, args in dockerfile.instructions() if op == "RUN"]
    [install] = [r for r in runs if "-r requirements-runtime.lock" in r]
    assert "--require-hashes" in install and "--no-deps" in install
    # The project itself adds nothing unlocked.
    [project] = [r for r in runs if r.endswith(" .")]
    assert "--no-deps" in project and "--no-build-isolation" in project


def test_runtime_lock_is_the_dev_lock_without_test_tools():
    runtime = _pins(PROJECT_ROOT / "requirements-runtime.lock")
    dev = _pins(PROJECT_ROOT / "requirements.lock")
    assert "pytest" not in runtime and "pytest" in dev
    assert "moto" not in runtime and "moto" in dev  # the tests' S3 server
    assert {name: dev[name] for name in runtime} == runtime  # same versions
    assert {"tfx", "kfp", "tensorflow", "tf-keras", "apache-beam"} <= set(runtime)
    assert {"tensorflow-io", "boto3"} <= set(runtime)  # s3:// for tf.io.gfile and Beam


def test_image_selects_keras_2_and_its_read_only_config():
    env = dockerfile.env()
    assert env[keras_choice.ENV_VAR] == keras_choice.VALUE
    # The project's copy of Keras' defaults, where the image holds it.
    relative = os.path.relpath(keras_choice.HOME, PROJECT_ROOT)
    assert env[keras_choice.HOME_VAR] == f"{config_lib.IMAGE_PROJECT_ROOT}/{relative}"
    assert (PROJECT_ROOT / relative / "keras.json").is_file()


def test_the_tasks_run_as_a_numeric_non_root_user_in_group_0():
    ops = [op for op, _ in dockerfile.instructions()]
    users = [args for op, args in dockerfile.instructions() if op == "USER"]
    assert users, "no USER: the tasks would run as root, which runAsNonRoot refuses"
    # Numeric, for runAsNonRoot to verify; the build's RUN steps stay root's.
    assert re.fullmatch(r"[1-9][0-9]*:0", users[-1]), users[-1]
    last = {op: i for i, op in enumerate(ops)}
    assert last["USER"] > last["RUN"]


def test_the_home_is_nowhere_and_pip_and_python_write_no_cache():
    env = dockerfile.env()
    home = env["HOME"]
    # A home the image does not make (COPY writes under WORKDIR): every uid
    # gets the same, unwritable one (tests/test_kubeflow_driver_e2e.py runs the tasks with it).
    [workdir] = [args for op, args in dockerfile.instructions() if op == "WORKDIR"]
    assert home.startswith("/") and not (workdir + "/").startswith(home + "/") and not home.startswith(workdir + "/")
    assert home not in " ".join(args for op, args in dockerfile.instructions() if op == "RUN")
    assert env["PIP_NO_CACHE_DIR"] == "1" and env["PYTHONDONTWRITEBYTECODE"] == "1"


def test_project_lives_where_the_compiled_pipeline_looks():
    [workdir] = [args for op, args in dockerfile.instructions() if op == "WORKDIR"]
    assert workdir == config_lib.IMAGE_PROJECT_ROOT
    copied = {args.split()[0] for op, args in dockerfile.instructions() if op == "COPY"}
    assert {"schemas/", "pipeline/", "components/", "trainer_module/"} <= copied


def test_tests_and_local_state_stay_out_of_the_build_context():
    ignored = (PROJECT_ROOT / ".dockerignore").read_text().split()
    assert {".venv", "outputs", "tests", ".git"} <= set(ignored)
