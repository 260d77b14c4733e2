"""Where the four MNIST files come from: a directory the user names, or a
checksum-verified download into a user cache.
"""
import dataclasses
import hashlib
import http.client
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
from typing import Callable, Dict, Optional, Sequence, Tuple

import numpy as np

from components.mnist_example_gen import idx
from foundation import dir_lock, fs
from foundation.errors import MnistDataError, MnistUnavailableError
from foundation.names import EVAL_SPLIT, TRAIN_SPLIT
from trainer_module.features import IMAGE_SHAPE

# split -> (images file, labels file), without the optional ".gz".
SPLIT_FILES: Dict[str, Tuple[str, str]] = {
    TRAIN_SPLIT: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    EVAL_SPLIT: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

# SHA-256 of the decompressed files. Mirrors compress differently, so the
# checksum is of the content, which every faithful copy shares.
CANONICAL_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

# Public mirrors of the original files, tried in order. MNIST_MIRRORS (base
# URLs separated by spaces) replaces them, e.g. with a mirror inside a firewall.
PUBLIC_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)


def mirrors() -> Sequence[str]:
    configured = os.environ.get("MNIST_MIRRORS", "").split()
    return [m if m.endswith("/") else m + "/" for m in configured] or list(PUBLIC_MIRRORS)

LOCAL_COPY_HINT = (
    "Point the pipeline at a local copy of the four MNIST IDX files: "
    "set MNIST_DIR=/path/to/mnist (for `make run` too) or pass "
    "`python -m pipeline run --mnist-dir /path/to/mnist`."
)


@dataclasses.dataclass
class Split:
    images: np.ndarray  # uint8 [N, rows, cols]
    labels: np.ndarray  # uint8 [N]


@dataclasses.dataclass
class Source:
    """The four files found, with the SHA-256 of their content."""

    directory: str
    paths: Dict[str, str]  # file stem -> path
    sha256: Dict[str, str]  # file stem -> content SHA-256

    @property
    def is_canonical_mnist(self) -> bool:
        return self.sha256 == CANONICAL_SHA256

    def load(self, split: str) -> Split:
        images_stem, labels_stem = SPLIT_FILES[split]
        images = idx.read_idx(self.paths[images_stem], ndim=3)
        if images.shape[1:] != IMAGE_SHAPE[:2]:
            raise MnistDataError(
                f"{self.paths[images_stem]}: images of {images.shape[1]}x{images.shape[2]} "
                f"pixels; MNIST's are {IMAGE_SHAPE[0]}x{IMAGE_SHAPE[1]}"
            )
        labels = idx.read_idx(self.paths[labels_stem], ndim=1)
        if len(images) != len(labels):
            raise MnistDataError(
                f"{self.paths[images_stem]} holds {len(images)} images but "
                f"{self.paths[labels_stem]} holds {len(labels)} labels"
            )
        return Split(images, labels)

    def check(self) -> None:
        """Reads every split, raising MnistDataError at the first problem."""
        for split in SPLIT_FILES:
            self.load(split)


def default_cache_dir() -> str:
    """MNIST_TFX_CACHE, else ~/.cache/mnist-tfx/mnist. Without a home this
    process can write in (a container run by an arbitrary uid:
    docs/kubeflow.md#the-security-context), a new directory of the temp dir:
    a task's download lives as long as its pod anyway."""
    configured = os.environ.get("MNIST_TFX_CACHE")
    if configured:
        return configured
    home = os.path.expanduser("~")  # "~" itself with no HOME and no passwd entry
    in_home = os.path.join(home, ".cache", "mnist-tfx", "mnist")
    if os.path.isabs(home) and _can_create(in_home):
        return in_home
    return tempfile.mkdtemp(prefix="mnist-tfx-")


def _can_create(path: str) -> bool:
    """Whether this process may create `path`, or write in it if it exists."""
    while not os.path.lexists(path):
        path = os.path.dirname(path)
    return os.path.isdir(path) and os.access(path, os.W_OK | os.X_OK)


def content_sha256(path: str) -> str:
    return hashlib.sha256(idx.read_bytes(path)).hexdigest()


def locate(directory: str) -> Dict[str, str]:
    """Finds the four files (each `.gz` or uncompressed) in `directory`."""
    if not fs.is_remote(directory) and not os.path.isdir(directory):
        raise MnistDataError(f"{directory}: no such directory")
    paths, missing = {}, []
    for stem in CANONICAL_SHA256:
        for name in (stem + ".gz", stem):
            path = os.path.join(directory, name)
            if fs.exists(path):
                paths[stem] = path
                break
        else:
            missing.append(stem + "[.gz]")
    if missing:
        raise MnistDataError(
            f"{directory}: missing MNIST file(s) {', '.join(missing)}. "
            "The directory must hold the four IDX files (train-images, "
            "train-labels, t10k-images, t10k-labels)."
        )
    return paths


def fingerprint(directory: str) -> str:
    """A cheap identity of a directory's four files, for TFX's cache key.

    Size and SHA-256 of the bytes as stored, so any edit re-runs ingestion.
    """
    h = hashlib.sha256()
    for _, path in sorted(locate(directory).items()):
        with fs.open_file(path, "rb") as f:
            h.update(f"{os.path.basename(path)}:".encode() + hashlib.sha256(f.read()).digest())
    return h.hexdigest()


def from_directory(directory: str) -> Source:
    paths = locate(directory)
    return Source(directory, paths, {stem: content_sha256(p) for stem, p in paths.items()})


Progress = Callable[[str, int, Optional[int]], None]


def _terminal_progress(name: str, done: int, total: Optional[int]) -> None:
    if not sys.stderr.isatty():
        return
    if total:
        width = 30
        filled = width * done // total
        bar = "=" * filled + "." * (width - filled)
        sys.stderr.write(f"\r  {name} [{bar}] {done / total:6.1%} of {total / 1e6:.1f} MB")
    else:
        sys.stderr.write(f"\r  {name} {done / 1e6:.1f} MB")
    if total and done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def _fetch(url: str, dest: str, timeout: float, progress: Progress) -> None:
    name = os.path.basename(dest)
    with urllib.request.urlopen(url, timeout=timeout) as response, open(dest, "wb") as out:
        total = int(response.headers.get("Content-Length") or 0) or None
        done = 0
        while chunk := response.read(1 << 16):
            out.write(chunk)
            done += len(chunk)
            progress(name, done, total)
    if total is not None and done != total:
        raise OSError(f"download ended after {done} of {total} bytes")


# A mirror that sent a bad file (cut short, or not matching its checksum) is
# asked again from the start, since a dropped connection or a corrupted
# transfer need not repeat; restarting costs little, the files are <= 10 MB.
ATTEMPTS_PER_MIRROR = 3
STAGING_PREFIX = ".download-"


def _report_to_stderr(message: str) -> None:
    newline = "\n" if sys.stderr.isatty() else ""  # after a progress bar
    sys.stderr.write(f"{newline}  warning: {message}\n")
    sys.stderr.flush()


def _is_verified(path: str, expected: str) -> bool:
    try:
        return content_sha256(path) == expected
    except MnistDataError:  # e.g. a truncated copy
        return False


def _fetch_verified(
    stem: str, expected: str, cache_dir: str, mirror_urls: Sequence[str],
    timeout: float, progress: Progress, report: Callable[[str], None],
) -> str:
    """Downloads one file into `cache_dir` and returns its path, or raises."""
    final = os.path.join(cache_dir, stem + ".gz")
    if os.path.exists(final):
        if _is_verified(final, expected):
            return final
        report(f"{final} does not match its checksum; downloading it again")
    failures = []
    for mirror in mirror_urls:
        url = mirror + stem + ".gz"
        for attempt in range(1, ATTEMPTS_PER_MIRROR + 1):
            # Same name as the final file (so it is read as gzip), in a
            # private directory beside it (so the rename is atomic).
            staging = tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=cache_dir)
            partial = os.path.join(staging, stem + ".gz")
            try:
                _fetch(url, partial, timeout, progress)
                got = content_sha256(partial)
                if got != expected:
                    raise MnistDataError(f"checksum mismatch: SHA-256 {got}, expected {expected}")
                os.replace(partial, final)
                return final
            except urllib.error.URLError as e:  # no file from this mirror: the next one
                failures.append(f"{url}: {e}")
                break
            except (OSError, http.client.HTTPException, MnistDataError) as e:
                failures.append(f"{url}: {e}")
                again = "trying again" if attempt < ATTEMPTS_PER_MIRROR else "giving up on this mirror"
                report(f"{url}: {e}; deleted it, {again}")
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    raise MnistUnavailableError(
        f"Could not get a verified {stem}.gz from any MNIST mirror:\n  "
        + "\n  ".join(failures)
        + f"\n{LOCAL_COPY_HINT}"
    )


def download(
    cache_dir: Optional[str] = None,
    mirror_urls: Optional[Sequence[str]] = None,
    timeout: float = 30.0,
    progress: Progress = _terminal_progress,
    checksums: Dict[str, str] = CANONICAL_SHA256,
    report: Callable[[str], None] = _report_to_stderr,
) -> Source:
    """Returns the verified MNIST copy in `cache_dir`, downloading what is missing.

    A file is first written beside its final name, checked against
    CANONICAL_SHA256, and only then renamed into place; one that fails the
    check, or arrives cut short, is deleted, reported, and downloaded again
    (ATTEMPTS_PER_MIRROR times, then from the next mirror). `checksums` (file
    stem -> content SHA-256) are MNIST's unless a test serves other files.
    """
    cache_dir = cache_dir or default_cache_dir()

    def waiting(holder: str) -> None:
        report(f"waiting for another download into {cache_dir} ({holder})")

    # Locked, so that what a killed download left behind can be removed.
    with dir_lock.hold(cache_dir, wait=waiting):
        for leftover in os.listdir(cache_dir):
            if leftover.startswith(STAGING_PREFIX):
                shutil.rmtree(os.path.join(cache_dir, leftover), ignore_errors=True)
        paths = {
            stem: _fetch_verified(
                stem, expected, cache_dir, mirror_urls or mirrors(), timeout, progress, report
            )
            for stem, expected in checksums.items()
        }
    return Source(cache_dir, paths, dict(checksums))


def resolve(mnist_dir: Optional[str]) -> Source:
    """The user's directory when given, else the verified download."""
    return from_directory(mnist_dir) if mnist_dir else download()
