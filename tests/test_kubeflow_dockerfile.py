"""The container image's Dockerfile, checked as text (no Docker engine here)."""
import re
from pathlib import Path

from pipeline import config as config_lib
from tests.conftest import PROJECT_ROOT

DOCKERFILE = (PROJECT_ROOT / "Dockerfile").read_text()


def _instructions():
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE)
    lines = [line.strip() for line in text.splitlines()]
    return [tuple(line.split(None, 1)) for line in lines if line and not line.startswith("#")]


def _pins(lock: Path):
    return dict(re.findall(r"^([A-Za-z0-9_.\-\[\]]+)==(\S+)", lock.read_text(), re.M))


def test_base_image_is_pinned_python_3_10():
    [base] = [args for op, args in _instructions() if op == "FROM"]
    # An exact patch release and Debian release, or a digest: never a moving tag.
    assert re.fullmatch(r"python:3\.10\.\d+-slim-[a-z]+(@sha256:[0-9a-f]{64})?", base), base


def test_dependencies_come_from_the_runtime_lock_with_hashes():
    runs = [args for op, args in _instructions() if op == "RUN"]
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


def test_image_selects_keras_2():
    envs = " ".join(args for op, args in _instructions() if op == "ENV")
    assert re.search(r"\bTF_USE_LEGACY_KERAS=1\b", envs)


def test_project_lives_where_the_compiled_pipeline_looks():
    [workdir] = [args for op, args in _instructions() if op == "WORKDIR"]
    assert workdir == config_lib.IMAGE_PROJECT_ROOT
    copied = {args.split()[0] for op, args in _instructions() if op == "COPY"}
    assert {"schemas/", "pipeline/", "components/", "trainer_module/"} <= copied


def test_tests_and_local_state_stay_out_of_the_build_context():
    ignored = (PROJECT_ROOT / ".dockerignore").read_text().split()
    assert {".venv", "outputs", "tests", ".git"} <= set(ignored)
