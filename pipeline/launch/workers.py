"""`python -m pipeline workers`: multi-worker training on one machine.

Starts N local processes, each running what TFX runs in every replica of a
distributed Trainer job on Vertex AI: `python -m tfx.scripts.run_executor`
with TFX's Trainer executor (GenericExecutor) and this project's `run_fn`.
Each gets a TF_CONFIG naming all N workers on free loopback ports and its own
index, and trains with MultiWorkerMirroredStrategy on an existing Examples
artifact (by default the latest one this output directory's runs recorded).
Worker 0 is the chief: it alone writes the model.

This is for trying multi-worker training on one machine, and for the tests;
several processes on one machine's cores are no faster than one.
"""
import collections
import dataclasses
import json
import os
import socket
import subprocess
import sys
import threading
import time
from typing import Callable, Deque, List, Optional, TextIO

import tensorflow as tf
from ml_metadata.proto import metadata_store_pb2
from tfx.proto import trainer_pb2
from tfx.types import artifact_utils, standard_artifacts
from tfx.utils import path_utils, proto_utils

from foundation.errors import UserError
from foundation.names import (
    EVAL_SPLIT,
    EXAMPLES_KEY,
    MODEL_KEY,
    MODEL_RUN_KEY,
    SPLITS,
    TRAIN_SPLIT,
    TRAINING_SUMMARY_FILE,
)
from pipeline.config import PROJECT_ROOT, PipelineConfig
from pipeline.inspection import metadata

TRAINER_EXECUTOR = "tfx.components.trainer.executor.GenericExecutor"
RUN_FN = "trainer_module.task.run_fn"
# Lines of a failed worker's stderr quoted in the error.
_TAIL = 15


class WorkerFailed(UserError, RuntimeError):
    """A worker process exited with an error; the others were stopped."""


def free_loopback_ports(count: int) -> List[int]:
    """Ports nothing listens on now (held together, so they are distinct)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def tf_configs(ports: List[int]) -> List[str]:
    """One TF_CONFIG per worker: the same cluster, each its own index."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    return [
        json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        for index in range(len(ports))
    ]


def latest_examples_uri(cfg: PipelineConfig) -> str:
    """The newest Examples artifact recorded under the output directory."""
    if not os.path.exists(cfg.metadata_path):
        raise UserError(
            f"No pipeline runs recorded under {cfg.output_dir}: run the pipeline "
            "first, or pass --examples DIR"
        )
    store = metadata.open_store(cfg.metadata_path)
    live = [
        a for a in store.get_artifacts_by_type("Examples")
        if a.state == metadata_store_pb2.Artifact.LIVE
    ]
    if not live:
        raise UserError(
            f"No Examples recorded in {cfg.metadata_path}: run the pipeline "
            "first, or pass --examples DIR"
        )
    return max(live, key=lambda a: a.id).uri


def _split_names(examples_uri: str) -> List[str]:
    names = sorted(
        name.rstrip("/")[len("Split-"):]
        for name in (tf.io.gfile.listdir(examples_uri) if tf.io.gfile.isdir(examples_uri) else [])
        if name.startswith("Split-")
    )
    if not set(SPLITS) <= set(names):
        raise UserError(
            f"{examples_uri} is not an Examples artifact with train and eval "
            "splits (Split-train/ and Split-eval/ with TFRecord files)"
        )
    return names


def serving_model_dir(train_output: str) -> str:
    """Where the chief writes the SavedModel (as the Trainer does in a run)."""
    return path_utils.serving_model_dir(os.path.join(train_output, MODEL_KEY))


def summary_path(train_output: str) -> str:
    return os.path.join(train_output, MODEL_RUN_KEY, TRAINING_SUMMARY_FILE)


def trainer_command(
    cfg: PipelineConfig, examples_uri: str, train_output: str
) -> List[str]:
    """The Trainer executor's command line, as TFX's Vertex AI training client
    builds it for every replica: input and output artifacts as JSON; the
    training settings of `cfg`, with the multi-worker strategy."""
    examples = standard_artifacts.Examples()
    examples.uri = examples_uri
    examples.split_names = artifact_utils.encode_split_names(_split_names(examples_uri))
    model = standard_artifacts.Model()
    model.uri = os.path.join(train_output, MODEL_KEY)
    model_run = standard_artifacts.ModelRun()
    model_run.uri = os.path.join(train_output, MODEL_RUN_KEY)
    exec_properties = {
        "run_fn": RUN_FN,
        "train_args": proto_utils.proto_to_json(trainer_pb2.TrainArgs(splits=[TRAIN_SPLIT])),
        "eval_args": proto_utils.proto_to_json(trainer_pb2.EvalArgs(splits=[EVAL_SPLIT])),
        "custom_config": json.dumps(
            dataclasses.asdict(dataclasses.replace(cfg.train, strategy="multi_worker"))
        ),
    }
    return [
        sys.executable, "-m", "tfx.scripts.run_executor",
        "--executor_class_path", TRAINER_EXECUTOR,
        "--inputs", artifact_utils.jsonify_artifact_dict({EXAMPLES_KEY: [examples]}),
        "--outputs", artifact_utils.jsonify_artifact_dict(
            {MODEL_KEY: [model], MODEL_RUN_KEY: [model_run]}
        ),
        "--exec-properties", json.dumps(exec_properties, sort_keys=True),
    ]


def _pump(stream, write: Callable[[str], None], tail: Optional[Deque[str]] = None) -> None:
    for line in stream:
        line = line.rstrip("\n")
        write(line)
        if tail is not None:
            tail.append(line)
    stream.close()


def run_workers(
    command: List[str],
    num_workers: int,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
    timeout: Optional[float] = None,
    cwd: str = PROJECT_ROOT,
) -> None:
    """Runs `command` as `num_workers` processes, each with its TF_CONFIG.

    Each worker's stdout goes to `out` and its stderr to `err`, every line
    prefixed with `[worker N]`. When a worker fails (or `timeout` seconds
    pass) the others are stopped: they would wait for it forever in a
    collective. Raises WorkerFailed naming the worker, with its last lines.
    """
    if num_workers < 1:
        raise UserError("--num-workers must be at least 1")
    lock = threading.Lock()

    def writer(stream: TextIO, prefix: str) -> Callable[[str], None]:
        def write(line: str) -> None:
            with lock:
                stream.write(f"{prefix} {line}\n")
                stream.flush()
        return write

    procs, threads, tails = [], [], []
    for index, tf_config in enumerate(tf_configs(free_loopback_ports(num_workers))):
        env = dict(os.environ, TF_CONFIG=tf_config, PYTHONUNBUFFERED="1")
        proc = subprocess.Popen(
            command, cwd=cwd, env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        prefix = f"[worker {index}]"
        tail: Deque[str] = collections.deque(maxlen=_TAIL)
        threads += [
            threading.Thread(target=_pump, args=(proc.stdout, writer(out, prefix)), daemon=True),
            threading.Thread(target=_pump, args=(proc.stderr, writer(err, prefix), tail), daemon=True),
        ]
        procs.append(proc)
        tails.append(tail)
    for thread in threads:
        thread.start()

    try:
        failed, message = _wait(procs, timeout)
    finally:  # also on Ctrl-C: no worker is left running
        _stop(procs)
        for thread in threads:
            thread.join(timeout=10)
    if message is not None:
        last = "\n".join(tails[failed]) if failed is not None else ""
        raise WorkerFailed(message + (f"; its last lines:\n{last}" if last else ""))


def _wait(procs: List[subprocess.Popen], timeout: Optional[float]):
    """Until all succeed, one fails, or time is up: (failed index, message)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        codes = [p.poll() for p in procs]
        failed = next((i for i, code in enumerate(codes) if code not in (None, 0)), None)
        if failed is not None:
            return failed, f"worker {failed} {_how_it_ended(codes[failed])}"
        if all(code == 0 for code in codes):
            return None, None
        if deadline is not None and time.monotonic() > deadline:
            return None, f"the workers did not finish within {timeout:.0f} s"
        time.sleep(0.2)


def _stop(procs: List[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _how_it_ended(code: int) -> str:
    return f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"


def train(
    cfg: PipelineConfig,
    num_workers: int,
    examples_uri: str,
    train_output: str,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
    timeout: Optional[float] = None,
) -> None:
    """Trains with `cfg.train` on `num_workers` local workers."""
    command = trainer_command(cfg, examples_uri, train_output)
    run_workers(command, num_workers, out=out, err=err, timeout=timeout)
