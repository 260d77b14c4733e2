"""The download path, against HTTP servers on loopback (no internet needed)."""
import functools
import gzip
import hashlib
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from components.mnist_example_gen import idx, source
from foundation import dir_lock
from foundation.errors import MnistUnavailableError
from tests.fixtures.data import PROJECT_ROOT, closed_port_url, write_mnist_dir
from tests.kfp import run_as
from tests.synthetic_digits import make_digits


def _corrupted(gz_bytes: bytes) -> bytes:
    """A valid gzip file of the same length whose content is one byte off."""
    data = bytearray(gzip.decompress(gz_bytes))
    data[-1] ^= 0xFF
    return gzip.compress(bytes(data), mtime=0)


class _Server:
    """Serves a directory over HTTP on 127.0.0.1, recording the paths asked for.

    `plan` maps a path to how its next responses go wrong, in order:
    "cut" (the connection closes halfway through the declared length),
    "corrupt" (a whole file, with the wrong content), "stall" (half the
    file, then nothing until the server closes); once used up, the file as is.
    """

    def __init__(self, directory: Path, plan=None):
        requests = self.requests = []
        plan = {path: list(modes) for path, modes in (plan or {}).items()}
        stop = self.stop = threading.Event()

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                requests.append(self.path)
                modes = plan.get(self.path)
                if not modes:
                    return super().do_GET()
                mode = modes.pop(0)
                data = (directory / self.path.lstrip("/")).read_bytes()
                if mode == "corrupt":
                    data = _corrupted(data)
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if mode == "corrupt":
                    self.wfile.write(data)
                    return
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                if mode == "stall":
                    stop.wait(60)

        handler = functools.partial(Handler, directory=str(directory))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def mirror_files(tmp_path):
    """A small MNIST-shaped mirror, and the content checksums to expect."""
    directory = write_mnist_dir(
        tmp_path / "good", train=make_digits(20, seed=8), test=make_digits(10, seed=9)
    )
    checksums = {
        stem: hashlib.sha256(idx.read_bytes(str(directory / (stem + ".gz")))).hexdigest()
        for stem in source.CANONICAL_SHA256
    }
    return directory, checksums


@pytest.fixture
def serve():
    servers = []

    def start(directory, plan=None):
        servers.append(_Server(directory, plan))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def _cached(cache: Path):
    """What the cache directory holds, besides its lock file."""
    return sorted(p.name for p in cache.iterdir() if p.name != dir_lock.LOCK_FILE)



def test_download_verifies_and_caches(tmp_path, mirror_files, serve):
    directory, checksums = mirror_files
    server = serve(directory)
    cache = tmp_path / "cache"
    got = source.download(str(cache), mirror_urls=[server.url], checksums=checksums, progress=lambda *a: None)
    assert got.sha256 == checksums
    assert _cached(cache) == sorted(s + ".gz" for s in checksums)
    assert len(got.load("train").labels) == 20

    # A second call finds the verified cache and fetches nothing.
    server.requests.clear()
    source.download(str(cache), mirror_urls=[server.url], checksums=checksums, progress=lambda *a: None)
    assert server.requests == []


def test_corrupted_download_is_deleted_and_the_next_mirror_used(tmp_path, mirror_files, serve):
    directory, checksums = mirror_files
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    for f in directory.iterdir():
        (corrupt / f.name).write_bytes(_corrupted(f.read_bytes()))  # valid gzip, wrong content
    bad, good = serve(corrupt), serve(directory)
    cache = tmp_path / "cache"
    reports = []
    got = source.download(
        str(cache), mirror_urls=[bad.url, good.url], checksums=checksums,
        progress=lambda *a: None, report=reports.append,
    )
    assert got.sha256 == checksums
    assert len(bad.requests) == 4 * source.ATTEMPTS_PER_MIRROR and len(good.requests) == 4
    assert len(reports) == 4 * source.ATTEMPTS_PER_MIRROR
    assert all("checksum mismatch" in r and "deleted it" in r for r in reports)
    assert _cached(cache) == sorted(s + ".gz" for s in checksums)


def test_checksum_failure_everywhere_is_an_error_and_leaves_nothing(tmp_path, mirror_files, serve):
    directory, checksums = mirror_files
    wrong = {stem: "0" * 64 for stem in checksums}
    cache = tmp_path / "cache"
    with pytest.raises(MnistUnavailableError, match="checksum mismatch") as error:
        source.download(
            str(cache), mirror_urls=[serve(directory).url], checksums=wrong,
            progress=lambda *a: None, report=lambda message: None,
        )
    assert "MNIST_DIR" in str(error.value)
    assert _cached(cache) == []


def test_truncated_download_is_not_used(tmp_path, mirror_files, serve):
    directory, checksums = mirror_files
    short = tmp_path / "short"
    short.mkdir()
    for f in directory.iterdir():
        (short / f.name).write_bytes(f.read_bytes()[:-30])
    cache = tmp_path / "cache"
    with pytest.raises(MnistUnavailableError, match="truncated or corrupt gzip"):
        source.download(
            str(cache), mirror_urls=[serve(short).url], checksums=checksums,
            progress=lambda *a: None, report=lambda message: None,
        )
    assert _cached(cache) == []


def test_offline_fails_at_once_saying_how_to_use_a_local_copy(tmp_path):
    with pytest.raises(MnistUnavailableError) as error:
        source.download(str(tmp_path), mirror_urls=[closed_port_url()], timeout=5, progress=lambda *a: None)
    message = str(error.value)
    assert "Connection refused" in message
    assert "MNIST_DIR=/path/to/mnist" in message and "--mnist-dir" in message


def test_a_download_cut_short_then_corrupted_is_reported_deleted_and_fetched_again(tmp_path, mirror_files, serve):
    directory, checksums = mirror_files
    path = "/train-images-idx3-ubyte.gz"
    server = serve(directory, plan={path: ["cut", "corrupt"]})
    cache, reports = tmp_path / "cache", []
    got = source.download(
        str(cache), mirror_urls=[server.url], checksums=checksums,
        progress=lambda *a: None, report=reports.append,
    )
    assert got.sha256 == checksums
    assert server.requests.count(path) == 3  # cut, corrupted, then the good copy
    cut, corrupt = reports
    assert cut.startswith(server.url + path[1:]) and "download ended after" in cut
    assert "checksum mismatch" in corrupt and "deleted it, trying again" in corrupt
    assert _cached(cache) == sorted(s + ".gz" for s in checksums)  # no partial file left


def test_a_mirror_that_always_cuts_the_file_short_is_given_up(tmp_path, mirror_files, serve):
    directory, checksums = mirror_files
    path = "/t10k-labels-idx1-ubyte.gz"
    server = serve(directory, plan={path: ["cut"] * source.ATTEMPTS_PER_MIRROR})
    cache = tmp_path / "cache"
    with pytest.raises(MnistUnavailableError) as error:
        source.download(
            str(cache), mirror_urls=[server.url], checksums=checksums,
            progress=lambda *a: None, report=lambda message: None,
        )
    assert str(error.value).count("download ended after") == source.ATTEMPTS_PER_MIRROR
    assert "t10k-labels-idx1-ubyte.gz" not in _cached(cache)
    assert not [name for name in _cached(cache) if name.startswith(source.STAGING_PREFIX)]


_DOWNLOAD = """
import json, sys
from components.mnist_example_gen import source
print(source.download(sys.argv[1] or None, mirror_urls=[sys.argv[2]], checksums=json.loads(sys.argv[3])).directory)
"""


def test_a_download_killed_midway_restarts_cleanly(tmp_path, mirror_files, serve):
    directory, checksums = mirror_files
    server = serve(directory, plan={"/train-images-idx3-ubyte.gz": ["stall"]})
    cache = tmp_path / "cache"
    process = subprocess.Popen(
        [sys.executable, "-c", _DOWNLOAD, str(cache), server.url, json.dumps(checksums)],
        cwd=PROJECT_ROOT,
    )
    try:
        deadline = time.monotonic() + 60
        # The file is open for writing; the server has sent half of it and stalls.
        while not list(cache.glob(".download-*/train-images-idx3-ubyte.gz")):
            assert time.monotonic() < deadline and process.poll() is None, "the download never started"
            time.sleep(0.05)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    assert list(cache.glob(".download-*"))  # the kill left a partial file behind
    # The lock died with its holder; the next download removes the partial file.
    got = source.download(str(cache), mirror_urls=[server.url], checksums=checksums, progress=lambda *a: None)
    assert got.sha256 == checksums
    assert _cached(cache) == sorted(s + ".gz" for s in checksums)


def test_a_corrupted_file_in_the_cache_is_downloaded_again(tmp_path, mirror_files, serve):
    directory, checksums = mirror_files
    cache = tmp_path / "cache"
    cache.mkdir()
    truncated = cache / "train-labels-idx1-ubyte.gz"
    truncated.write_bytes((directory / truncated.name).read_bytes()[:-10])
    reports = []
    got = source.download(
        str(cache), mirror_urls=[serve(directory).url], checksums=checksums,
        progress=lambda *a: None, report=reports.append,
    )
    assert got.sha256 == checksums
    assert reports == [f"{truncated} does not match its checksum; downloading it again"]


def test_with_no_home_to_write_in_the_download_goes_to_the_temp_dir(tmp_path, mirror_files, serve):
    """As the image runs a task: an arbitrary uid, HOME a path that does not
    exist (docs/kubeflow.md#the-security-context), no MNIST_TFX_CACHE."""
    directory, checksums = mirror_files
    os.chmod(tmp_path, 0o755)
    env = {k: v for k, v in os.environ.items() if k != "MNIST_TFX_CACHE"}
    with run_as.unprivileged(str(tmp_path), str(PROJECT_ROOT)) as user:
        command, env = user.task([sys.executable, "-c", _DOWNLOAD, "", serve(directory).url, json.dumps(checksums)],
                                 dict(env, HOME="/nonexistent"), temp_dir=str(tmp_path / "tmp"), writable=[])
        done = subprocess.run(command, env=env, cwd="/", capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    cache = Path(done.stdout.strip())
    assert cache.parent == tmp_path / "tmp" and cache.name.startswith("mnist-tfx-")
    assert _cached(cache) == sorted(s + ".gz" for s in checksums)
    assert cache.stat().st_uid == user.uid
