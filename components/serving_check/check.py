"""The serving check's measurements and verdict, apart from TFX.

`run` stages a request for probe.py (the candidate SavedModel, real eval
digits as serialized tf.Examples and as images), runs the probe as a fresh
interpreter that cannot import the project, and compares what each signature
answered with the reference: the same digits through `serving_default`, the
signature TFMA's Evaluator scores (pipeline/evaluation.py), loaded in the
pipeline's own process. Its result is plain data: `Result.reasons` empty
means the model may be pushed.
"""
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
from typing import Any, Dict, List, Optional

import numpy as np
import tensorflow as tf
from tfx.utils import io_utils

from components import saved_models
from trainer_module import features, input_pipeline
from trainer_module.features import SERVING_EXAMPLES, SERVING_IMAGES

PROBE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "probe.py")
# What a model server never has: this project's own code.
PROJECT_PACKAGES = ("pipeline", "components", "trainer_module", "system")
BATCH_SIZES = (1, 32)
# Calls timed per signature and batch size: enough for a p99 at batch 1, and
# for an upper percentile at batch 32 without making the check slow.
REPEATS = {1: 100, 32: 30}
WARMUP = 3
# The signatures must agree with the reference to float rounding, and on
# every predicted digit.
ATOL = 1e-4
# A probe that neither answers nor fails within this is a model that hangs.
TIMEOUT_SECONDS = 600


@dataclasses.dataclass
class Bounds:
    p99_ms: Dict[int, float]  # {batch size: bound on p99 latency}
    num_examples: int


@dataclasses.dataclass
class Result:
    reasons: List[str]  # why the model is refused; empty: blessed
    examples_checked: int = 0
    digits_checked: List[int] = dataclasses.field(default_factory=list)
    # {signature: {"max_abs_difference": float, "disagreeing_digits": int}}
    agreement: Dict[str, Dict[str, float]] = dataclasses.field(default_factory=dict)
    # {signature: {batch size (str): {"p50_ms", "p99_ms", "calls"}}}
    latency: Dict[str, Dict[str, Dict[str, float]]] = dataclasses.field(default_factory=dict)
    load_seconds: Optional[float] = None
    bounds: Dict[str, float] = dataclasses.field(default_factory=dict)  # {"p99_ms_batch_1": ...}

    @property
    def blessed(self) -> bool:
        return not self.reasons

    def worst(self, batch_size: int, percentile: str) -> Optional[float]:
        """The slowest signature's latency at `batch_size` ("p50_ms" or "p99_ms")."""
        found = [by_size[str(batch_size)][percentile] for by_size in self.latency.values()
                 if str(batch_size) in by_size]
        return max(found) if found else None

    def to_json(self) -> Dict[str, Any]:
        return {**dataclasses.asdict(self), "blessed": self.blessed}


def eval_examples(split_uri: str, count: int) -> List[bytes]:
    """The first `count` serialized tf.Examples of a split (ExampleGen's gzipped TFRecords)."""
    files = input_pipeline.expand_files([os.path.join(split_uri, "*")])
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP").take(count)
    return [record.numpy() for record in dataset]


def _labels(serialized: List[bytes]) -> np.ndarray:
    spec = {features.LABEL_KEY: tf.io.FixedLenFeature([], tf.int64)}
    return tf.io.parse_example(tf.constant(serialized), spec)[features.LABEL_KEY].numpy()


class Probe:
    """probe.py in a fresh, isolated interpreter, loading a local copy of the
    model from the moment it is made; `answer` hands it the digits."""

    def __init__(self, model_path: str):
        self.model_path = model_path
        self.request_dir = tempfile.mkdtemp(prefix="serving-check-")
        try:
            # A local copy: a server loads from its own disk, and the probe
            # then needs no object-store credentials or plugins.
            io_utils.copy_dir(model_path, os.path.join(self.request_dir, "model"))
        except Exception:
            shutil.rmtree(self.request_dir, ignore_errors=True)
            raise
        with open(os.path.join(self.request_dir, "request.json"), "w") as f:
            json.dump({
                "examples_signature": SERVING_EXAMPLES, "examples_input": "examples",
                "images_signature": SERVING_IMAGES, "images_input": "images",
                "output_key": features.PREDICTIONS_KEY,
                "refuse_packages": list(PROJECT_PACKAGES),
                "batch_sizes": list(BATCH_SIZES),
                "repeats": {str(k): v for k, v in REPEATS.items()},
                "warmup": WARMUP,
            }, f)
        # -I: no script directory, working directory, PYTHON* variables or user
        # site on sys.path; the probe itself refuses the project's packages.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        # Its output goes to a file: a pipe nobody reads until `answer` could
        # fill up and stall the probe while it loads.
        self._log = os.path.join(self.request_dir, "probe.log")
        with open(self._log, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-I", PROBE, self.request_dir], cwd=self.request_dir, env=env,
                stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, text=True,
            )

    def answer(self, serialized: List[bytes]) -> Dict[str, Any]:
        """Stages the digits, lets the probe go on, and returns its response
        with its outputs ({signature: predictions}) under "outputs"."""
        with tf.io.TFRecordWriter(os.path.join(self.request_dir, "examples.tfrecord")) as writer:
            for record in serialized:
                writer.write(record)
        images = input_pipeline.parse_images(tf.constant(serialized)).numpy()
        np.save(os.path.join(self.request_dir, "images.npy"), images)
        try:
            self.process.communicate("go\n", timeout=TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
            return {"ok": False, "error": f"no answer within {TIMEOUT_SECONDS} s"}
        path = os.path.join(self.request_dir, "response.json")
        if not os.path.exists(path):
            with open(self._log) as log:
                tail = log.read().strip().splitlines()[-1:] or ["no output"]
            return {"ok": False, "error": f"the serving process exited with status {self.process.returncode}: {tail[0]}"}
        with open(path) as f:
            response = json.load(f)
        if response.get("ok"):
            with np.load(os.path.join(self.request_dir, "outputs.npz")) as outputs:
                response["outputs"] = {name: outputs[name] for name in outputs.files}
        return response

    def close(self) -> None:
        """Stops the probe if it still runs (an end of input stops it), and
        deletes its directory."""
        if self.process.poll() is None:
            try:
                self.process.communicate("", timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.communicate()
        shutil.rmtree(self.request_dir, ignore_errors=True)


def _reference(model_path: str, serialized: List[bytes]) -> np.ndarray:
    """The Evaluator's route: `serving_default` on serialized tf.Examples, loaded here."""
    serve = saved_models.load(model_path).signatures[SERVING_EXAMPLES]
    return np.concatenate([
        serve(examples=tf.constant(serialized[i:i + 256]))[features.PREDICTIONS_KEY].numpy()
        for i in range(0, len(serialized), 256)
    ])


def run(model_path: str, eval_split_uri: str, bounds: Bounds, probe: Optional[Probe] = None) -> Result:
    """`probe`: one already started on `model_path` (components/serving_check/early.py)."""
    probe = probe or Probe(model_path)
    try:
        serialized = eval_examples(eval_split_uri, bounds.num_examples)
        result = Result(reasons=[], bounds={f"p99_ms_batch_{k}": v for k, v in bounds.p99_ms.items()})
        if not serialized:
            result.reasons.append(f"no eval examples to serve under {eval_split_uri}")
            return result
        response = probe.answer(serialized)
    finally:
        probe.close()
    if not response.get("ok"):
        result.reasons.append(f"the model does not serve in a fresh process: {response.get('error')}")
        return result
    answered = response["outputs"]

    result.examples_checked = len(serialized)
    result.digits_checked = sorted(int(d) for d in set(_labels(serialized)))
    result.load_seconds = response.get("load_seconds")
    result.latency = response["latency"]
    reference = _reference(model_path, serialized)
    for name in (SERVING_EXAMPLES, SERVING_IMAGES):
        got = answered[name]
        if got.shape != reference.shape:
            result.reasons.append(f"{name} answered shape {list(got.shape)}, expected {list(reference.shape)}")
            continue
        differ = int(np.sum(got.argmax(axis=1) != reference.argmax(axis=1)))
        max_diff = float(np.max(np.abs(got - reference)))
        result.agreement[name] = {"max_abs_difference": max_diff, "disagreeing_digits": differ}
        if differ or not max_diff <= ATOL:
            result.reasons.append(
                f"{name} in the serving process disagrees with the Evaluator's {SERVING_EXAMPLES}: "
                f"{differ} of {len(serialized)} digits predicted differently, max |Δp| {max_diff:.3g} (bound {ATOL:g})"
            )
    result.reasons += latency_reasons(result.latency, bounds.p99_ms)
    return result


def latency_reasons(latency: Dict[str, Dict[str, Dict[str, float]]], p99_ms: Dict[int, float]) -> List[str]:
    """One reason per signature and batch size whose p99 exceeds its bound."""
    reasons = []
    for size, bound in sorted(p99_ms.items()):
        for name, by_size in sorted(latency.items()):
            p99 = by_size[str(size)]["p99_ms"]
            if p99 > bound:
                reasons.append(f"{name} p99 latency at batch {size}: {p99:.1f} ms, bound {bound:g} ms")
    return reasons
