"""The download path, against HTTP servers on loopback (no internet needed)."""
import functools
import gzip
import hashlib
import http.server
import threading
from pathlib import Path

import pytest

from components.mnist_example_gen import idx, source
from components.errors import MnistUnavailableError
from tests.conftest import closed_port_url, write_mnist_dir
from tests.synthetic_digits import make_digits


class _Server:
    """Serves a directory over HTTP on 127.0.0.1, recording the paths asked for."""

    def __init__(self, directory: Path):
        requests = self.requests = []

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                requests.append(self.path)
                super().do_GET()

        handler = functools.partial(Handler, directory=str(directory))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
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

    def start(directory):
        servers.append(_Server(directory))
        return servers[-1]

    yield start
    for server in servers:
        server.close()



def test_download_verifies_and_caches(tmp_path, mirror_files, serve):
    directory, checksums = mirror_files
    server = serve(directory)
    cache = tmp_path / "cache"
    got = source.download(str(cache), mirror_urls=[server.url], checksums=checksums, progress=lambda *a: None)
    assert got.sha256 == checksums
    assert sorted(p.name for p in cache.iterdir()) == sorted(s + ".gz" for s in checksums)
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
        data = bytearray(idx.read_bytes(str(f)))
        data[-1] ^= 0xFF  # one flipped byte: valid gzip, wrong content
        (corrupt / f.name).write_bytes(gzip.compress(bytes(data)))
    bad, good = serve(corrupt), serve(directory)
    cache = tmp_path / "cache"
    got = source.download(
        str(cache), mirror_urls=[bad.url, good.url], checksums=checksums, progress=lambda *a: None
    )
    assert got.sha256 == checksums
    assert len(bad.requests) == 4 and len(good.requests) == 4
    assert not list(cache.glob("*.part"))


def test_checksum_failure_everywhere_is_an_error_and_leaves_nothing(tmp_path, mirror_files, serve):
    directory, checksums = mirror_files
    wrong = {stem: "0" * 64 for stem in checksums}
    cache = tmp_path / "cache"
    with pytest.raises(MnistUnavailableError, match="checksum mismatch") as error:
        source.download(str(cache), mirror_urls=[serve(directory).url], checksums=wrong, progress=lambda *a: None)
    assert "MNIST_DIR" in str(error.value)
    assert list(cache.iterdir()) == []


def test_truncated_download_is_not_used(tmp_path, mirror_files, serve):
    directory, checksums = mirror_files
    short = tmp_path / "short"
    short.mkdir()
    for f in directory.iterdir():
        (short / f.name).write_bytes(f.read_bytes()[:-30])
    cache = tmp_path / "cache"
    with pytest.raises(MnistUnavailableError, match="truncated or corrupt gzip"):
        source.download(str(cache), mirror_urls=[serve(short).url], checksums=checksums, progress=lambda *a: None)
    assert list(cache.iterdir()) == []


def test_offline_fails_at_once_saying_how_to_use_a_local_copy(tmp_path):
    with pytest.raises(MnistUnavailableError) as error:
        source.download(str(tmp_path), mirror_urls=[closed_port_url()], timeout=5, progress=lambda *a: None)
    message = str(error.value)
    assert "Connection refused" in message
    assert "MNIST_DIR=/path/to/mnist" in message and "--mnist-dir" in message
