"""Fetches the locked uv from a package index into a folder, for set-up.

    python3 scripts/fetch_uv.py DEST_DIR      (prints the path of the `uv` binary)

scripts/setup.sh runs this where no uv exists. It needs only the standard
library of any Python 3.8 or newer, so a stock Debian 12 or Ubuntu 24.04
python3 (which has no pip and no venv module) can run it. The version and the
accepted SHA-256 hashes are the ones `requirements.lock` pins for uv, so the
wheel is checked against the lock whichever index served it (`UV_INDEX_URL`
or `PIP_INDEX_URL` when set, else PyPI; proxies from the usual variables).
"""
import hashlib
import html.parser
import os
import platform
import re
import stat
import sys
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

LOCK = Path(__file__).resolve().parents[1] / "requirements.lock"
DEFAULT_INDEX = "https://pypi.org/simple"
# The wheel tag uv publishes for each machine set-up supports (the lock itself
# is resolved for x86_64 glibc only: TensorFlow's wheels).
WHEEL_TAGS = {"x86_64": "manylinux_2_17_x86_64"}


class FetchError(Exception):
    """What went wrong, in one line for the user."""


def locked_uv(lock_text: str):
    """(version, {sha256, ...}) of uv in requirements.lock."""
    found = re.search(r"^uv==(\S+)((?:\s*\\\s*--hash=sha256:[0-9a-f]{64})+)", lock_text, re.M)
    if not found:
        raise FetchError("the lock pins no uv (run `make lock`)")
    return found.group(1), set(re.findall(r"sha256:([0-9a-f]{64})", found.group(2)))


class _Links(html.parser.HTMLParser):
    """The file links of a PEP 503 simple-index page."""

    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs.extend(value for name, value in attrs if name == "href" and value)


def wheel_url(index: str, version: str, tag: str) -> str:
    page_url = index.rstrip("/") + "/uv/"
    try:
        with urllib.request.urlopen(page_url, timeout=60) as page:
            parser = _Links()
            parser.feed(page.read().decode("utf-8", "replace"))
    except (urllib.error.URLError, OSError) as e:
        raise FetchError(f"cannot read {page_url}: {getattr(e, 'reason', e)}") from None
    wanted = f"uv-{version}-py3-none-{tag}"
    for href in parser.hrefs:
        name = urllib.parse.unquote(urllib.parse.urlsplit(href).path.rsplit("/", 1)[-1])
        if name.startswith(wanted) and name.endswith(".whl"):
            return urllib.parse.urljoin(page_url, href)
    raise FetchError(f"{page_url} lists no {wanted}*.whl")


def download(url: str, dest: Path, hashes) -> None:
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=120) as response, open(dest, "wb") as out:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                digest.update(chunk)
                out.write(chunk)
    except (urllib.error.URLError, OSError) as e:
        raise FetchError(f"cannot download {url}: {getattr(e, 'reason', e)}") from None
    if digest.hexdigest() not in hashes:
        dest.unlink()
        raise FetchError(f"{url} has SHA-256 {digest.hexdigest()}, which requirements.lock does not list for uv")


def fetch(dest_dir: Path, lock: Path = LOCK, index: str = "") -> Path:
    machine = platform.machine()
    if sys.platform != "linux" or machine not in WHEEL_TAGS:
        raise FetchError(f"set-up supports Linux on {', '.join(WHEEL_TAGS)}; this is {sys.platform} on {machine}")
    version, hashes = locked_uv(lock.read_text())
    index = index or os.environ.get("UV_INDEX_URL") or os.environ.get("PIP_INDEX_URL") or DEFAULT_INDEX
    url = wheel_url(index, version, WHEEL_TAGS[machine])
    dest_dir.mkdir(parents=True, exist_ok=True)
    wheel = dest_dir / url.rsplit("/", 1)[-1].split("#")[0]
    download(url, wheel, hashes)
    binary = dest_dir / "uv"
    with zipfile.ZipFile(wheel) as archive:
        binary.write_bytes(archive.read(f"uv-{version}.data/scripts/uv"))
    wheel.unlink()
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return binary


def main(argv) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    try:
        print(fetch(Path(argv[1])))
    except FetchError as e:
        print(f"error: fetching uv: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
