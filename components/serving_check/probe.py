"""What a model server does with the candidate, run as its own process.

The ServingCheck runs this file as `python -I probe.py REQUEST_DIR`, with its
working directory outside the project and the project's packages refused on
import: the SavedModel must load and answer with TensorFlow alone, as in TF
Serving. So this file imports nothing but the standard library, NumPy and
TensorFlow, and talks to its caller through files in REQUEST_DIR:

  in:  model/ (the SavedModel), request.json (signature names, input names,
       the packages to refuse, repetitions), examples.tfrecord (serialized
       tf.Examples), images.npy (the same digits, float32 [N, 28, 28, 1])
  out: outputs.npz (each signature's predictions), response.json (latencies,
       or the error that stopped it)

It works in two phases, like a server that starts, then takes requests:
first it loads TensorFlow and the model (model/ and request.json must be
there when it starts); then it waits for a line on its standard input, and
reads the digits only after it. So its caller can start it early and stage
the digits meanwhile; an end of input instead of the line ends it at once.

Exit status 0 when it answered (or was told to stop); otherwise
response.json says why.
"""
import importlib.abc
import json
import os
import sys
import time
import traceback


class _Refuse(importlib.abc.MetaPathFinder):
    """Makes the project's own packages unimportable in this process."""

    def __init__(self, names):
        self.names = set(names)

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in self.names:
            raise ModuleNotFoundError(f"{fullname}: not available to a model server", name=fullname)
        return None


def _percentiles(seconds):
    import numpy as np

    ms = np.asarray(seconds) * 1000.0
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)), "calls": len(ms)}


def _timed(call, batch, repeats, warmup):
    for _ in range(warmup):  # the first calls build the graph's kernels
        call(batch)
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        call(batch)
        seconds.append(time.perf_counter() - start)
    return _percentiles(seconds)


def serve(request_dir):
    with open(os.path.join(request_dir, "request.json")) as f:
        request = json.load(f)
    sys.meta_path.insert(0, _Refuse(request["refuse_packages"]))

    import numpy as np
    import tensorflow as tf

    leaked = sorted(name for name in sys.modules if name.split(".")[0] in request["refuse_packages"])
    if leaked:
        raise RuntimeError(f"project code is loaded in the serving process: {leaked}")

    start = time.perf_counter()
    model = tf.saved_model.load(os.path.join(request_dir, "model"))
    load_seconds = time.perf_counter() - start
    signatures = {}
    for name in (request["examples_signature"], request["images_signature"]):
        if name not in model.signatures:
            raise KeyError(f"the SavedModel has no signature {name!r} (it has {sorted(model.signatures)})")
        signatures[name] = model.signatures[name]

    if not sys.stdin.readline():
        return None  # the caller no longer wants an answer
    output = request["output_key"]
    examples = np.array(
        [record.numpy() for record in tf.data.TFRecordDataset(os.path.join(request_dir, "examples.tfrecord"))],
        dtype=object,
    )
    images = np.load(os.path.join(request_dir, "images.npy"))
    by_signature = {
        request["examples_signature"]: (request["examples_input"], examples, tf.string),
        request["images_signature"]: (request["images_input"], images, tf.float32),
    }

    def caller(name):
        input_name, _, dtype = by_signature[name]
        return lambda batch: signatures[name](**{input_name: tf.constant(batch, dtype=dtype)})[output]

    outputs, latency = {}, {}
    for name, (_, data, _) in by_signature.items():
        call = caller(name)
        outputs[name] = np.concatenate([call(data[i:i + 256]).numpy() for i in range(0, len(data), 256)])
        latency[name] = {
            str(size): _timed(call, data[:size], request["repeats"][str(size)], request["warmup"])
            for size in request["batch_sizes"]
        }
    np.savez(os.path.join(request_dir, "outputs.npz"), **outputs)
    return {"ok": True, "load_seconds": load_seconds, "latency": latency,
            "tensorflow": tf.__version__, "python": sys.version.split()[0]}


def main(argv):
    request_dir = argv[1]
    try:
        response = serve(request_dir)
        if response is None:
            return 0
        status = 0
    except Exception as e:  # the caller reads the reason from the response
        response = {"ok": False, "error": f"{type(e).__name__}: {e}".strip(),
                    "traceback": traceback.format_exc()[-4000:]}
        status = 1
    with open(os.path.join(request_dir, "response.json"), "w") as f:
        json.dump(response, f)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
