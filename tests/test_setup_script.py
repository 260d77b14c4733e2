"""scripts/setup.sh: a Python 3.10 found or installed with uv, uv fetched where
none exists, and a message naming a command that exists where neither can be."""
import hashlib
import http.server
import os
import platform
import shutil
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SETUP = ROOT / "scripts" / "setup.sh"
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
# What a set-up needs of the project: the scripts, the lock and the package.
PROJECT_FILES = ("scripts", "pyproject.toml", "requirements.lock", "README.md",
                 "pipeline", "components", "trainer_module", "system", "schemas")
# The registries are reached through a local CA here; a user's machine has its own.
KEPT_ENV = ("SSL_CERT_FILE", "SSL_CERT_DIR")
HAS_SYSTEM_310 = any(os.path.exists(f"{d}/python3.10") for d in SYSTEM_PATH.split(":"))

sys.path.insert(0, str(ROOT / "scripts"))
import fetch_uv  # noqa: E402


def clean_env(home: Path, **extra) -> dict:
    """A stock machine's environment: no pyenv, no uv on PATH, nothing of ours."""
    env = {"HOME": str(home), "PATH": SYSTEM_PATH}
    env.update({k: os.environ[k] for k in KEPT_ENV if k in os.environ})
    env.update(extra)
    return env


def setup(project: Path, env: dict, *args) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(project / "scripts" / "setup.sh"), *args], env=env,
                          capture_output=True, text=True, timeout=900)


def a_fresh_checkout(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, project / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, project / name)
    return project


def bin_dir_with(tmp_path: Path, *tools: str) -> Path:
    """A PATH of only these tools: a machine with no Python and no uv."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in tools:
        (bin_dir / tool).symlink_to(shutil.which(tool))
    return bin_dir


BASIC_TOOLS = ("bash", "sh", "env", "id", "ls", "sort", "cut", "sed", "cat", "dirname", "rm", "mkdir")


# --- Finding an interpreter ---------------------------------------------------

def test_pyenv_310_is_found_when_not_selected(tmp_path):
    # A pyenv shim that fails the way an unselected version does...
    shims = tmp_path / "shims"
    shims.mkdir()
    shim = shims / "python3.10"
    shim.write_text("#!/bin/sh\necho 'pyenv: python3.10: command not found' >&2\nexit 127\n")
    shim.chmod(0o755)
    # ...and a 3.10 installed under the pyenv root.
    installed = tmp_path / "pyenv" / "versions" / "3.10.99" / "bin"
    installed.mkdir(parents=True)
    (installed / "python3.10").symlink_to(sys.executable)

    env = {"PATH": f"{shims}:/usr/bin:/bin", "PYENV_ROOT": str(tmp_path / "pyenv"), "HOME": str(tmp_path)}
    result = setup(ROOT, env, "--find-python")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(installed / "python3.10")


def test_explicit_python_wins(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "PYTHON": sys.executable, "HOME": str(tmp_path), "PYENV_ROOT": "/nonexistent"}
    result = setup(ROOT, env, "--find-python")
    assert result.returncode == 0 and result.stdout.strip() == sys.executable


def test_a_python_that_is_not_310_is_refused_by_name(tmp_path):
    other = shutil.which("python3", path=SYSTEM_PATH)
    if not other or subprocess.run([other, "-c", "import sys; sys.exit(sys.version_info[:2] == (3, 10))"]).returncode:
        pytest.skip("no Python 3 other than 3.10 on the system PATH")
    project = a_fresh_checkout(tmp_path)
    result = setup(project, clean_env(tmp_path, PYTHON=other))
    assert result.returncode == 1
    assert f"error: PYTHON={other} is not a working Python 3.10" in result.stderr


# --- uv: a managed Python 3.10, and what is said when there is none ----------

def managed_install_name() -> str:
    """The folder name uv gives its own installs: cpython-3.10.13-linux-x86_64-gnu."""
    libc = "gnu" if platform.libc_ver()[0] == "glibc" else "musl"
    return f"cpython-{platform.python_version()}-linux-{platform.machine()}-{libc}"


@pytest.mark.e2e
@pytest.mark.skipif(HAS_SYSTEM_310, reason="the system PATH has a Python 3.10, which set-up would take first")
def test_no_310_on_the_machine_uv_finds_its_managed_one_and_sets_up(tmp_path):
    # uv's own layout, holding this machine's 3.10 (a real copy: uv does not
    # follow a symlinked install), where a `uv python install 3.10` puts it.
    installs = tmp_path / "uv-python"
    shutil.copytree(sys.base_prefix, installs / managed_install_name(), symlinks=True)
    project = a_fresh_checkout(tmp_path)
    home = tmp_path / "home"
    uv_cache = subprocess.run([str(ROOT / ".venv" / "bin" / "uv"), "cache", "dir"],
                              capture_output=True, text=True, check=True).stdout.strip()
    # No uv on PATH: set-up fetches the lock's uv with the system's python3,
    # a stock Debian's, which has no pip and no venv module.
    result = setup(project, clean_env(home, UV_PYTHON_INSTALL_DIR=str(installs), UV_CACHE_DIR=uv_cache))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Fetching uv" in result.stderr and "checked against requirements.lock" in result.stderr
    assert "Creating .venv with Python 3.10 (uv " in result.stdout

    venv_python = project / ".venv" / "bin" / "python"
    assert Path(os.path.realpath(venv_python)).is_relative_to(installs / managed_install_name())
    # TFX's Trainer installs its module wheel with the venv's own pip.
    pip = subprocess.run([str(venv_python), "-m", "pip", "--version"], env=clean_env(home), capture_output=True, text=True)
    assert pip.returncode == 0 and f"{project}/.venv/" in pip.stdout, pip.stderr
    imported = subprocess.run([str(venv_python), "-c", "import tfx, pipeline; print(tfx.__version__, pipeline.__file__)"],
                              env=clean_env(home), cwd=home, capture_output=True, text=True, timeout=300)
    assert imported.returncode == 0, imported.stderr
    version, where = imported.stdout.split()
    assert version == "1.16.0" and Path(where).is_relative_to(project)
    # The venv holds the lock's uv, for the next set-up and `make lock`.
    locked, _ = fetch_uv.locked_uv((ROOT / "requirements.lock").read_text())
    uv_version = subprocess.run([str(project / ".venv" / "bin" / "uv"), "--version"], capture_output=True, text=True)
    assert uv_version.stdout.split()[1] == locked


@pytest.mark.skipif(HAS_SYSTEM_310, reason="the system PATH has a Python 3.10")
def test_no_310_and_uv_cannot_download_one_says_what_to_do(tmp_path):
    # uv present (fetched before), but its download source unreachable.
    locked, _ = fetch_uv.locked_uv((ROOT / "requirements.lock").read_text())
    home = tmp_path / "home"
    cached_uv = home / ".cache" / "mnist-tfx" / f"uv-{locked}" / "uv"
    cached_uv.parent.mkdir(parents=True)
    shutil.copy2(ROOT / ".venv" / "bin" / "uv", cached_uv)
    project = a_fresh_checkout(tmp_path)
    result = setup(project, clean_env(home, UV_PYTHON_INSTALL_MIRROR=f"file://{tmp_path}/no-mirror"))
    assert result.returncode == 1
    assert "error: no Python 3.10 found, and uv could not install one (above)." in result.stderr
    # The commands it names exist here.
    assert f"    {cached_uv} python install 3.10 && bash scripts/setup.sh" in result.stderr
    assert "PYTHON=/path/to/python3.10 bash scripts/setup.sh" in result.stderr
    assert not (project / ".venv").exists()


def test_no_python_and_no_uv_names_only_commands_this_machine_has(tmp_path):
    project = a_fresh_checkout(tmp_path)
    bare = bin_dir_with(tmp_path, *BASIC_TOOLS)
    result = setup(project, {"HOME": str(tmp_path), "PATH": str(bare)})
    assert result.returncode == 1
    assert result.stderr.startswith("error: set-up needs uv (https://docs.astral.sh/uv/): "
                                    "this machine has no uv, and no Python 3 to fetch it with.")
    assert "apt-get" not in result.stderr and "curl" not in result.stderr
    assert "(with this system's package manager: python3, or uv)" in result.stderr

    # The same machine with apt-get and curl (a stock Debian 12 or Ubuntu 24.04 image).
    for tool in ("apt-get", "curl"):
        if shutil.which(tool):
            (bare / tool).symlink_to(shutil.which(tool))
    result = setup(project, {"HOME": str(tmp_path), "PATH": str(bare)})
    assert result.returncode == 1
    if shutil.which("apt-get"):
        assert "\n    apt-get install -y python3\n" in result.stderr  # root: no sudo
    if shutil.which("curl"):
        assert "\n    curl -LsSf https://astral.sh/uv/install.sh | sh" in result.stderr


# --- scripts/fetch_uv.py against an index on loopback -------------------------

@pytest.fixture
def index(tmp_path):
    """A PEP 503 index on 127.0.0.1 serving one uv wheel; (url, wheel path)."""
    root = tmp_path / "index"
    (root / "uv").mkdir(parents=True)
    wheel_name = f"uv-9.9.9-py3-none-{fetch_uv.WHEEL_TAGS.get(platform.machine(), 'x')}.whl"
    with zipfile.ZipFile(root / "uv" / wheel_name, "w") as wheel:
        wheel.writestr("uv-9.9.9.data/scripts/uv", "#!/bin/sh\necho 'uv 9.9.9'\n")
    (root / "uv" / "index.html").write_text(f'<a href="{wheel_name}#sha256=x">{wheel_name}</a>')

    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(root), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", root / "uv" / wheel_name
    server.shutdown()


def lock_with(tmp_path, digest: str, version: str = "9.9.9") -> Path:
    lock = tmp_path / f"requirements-{version}-{digest[:4]}.lock"
    lock.write_text(f"six==1.0 \\\n    --hash=sha256:{'0' * 64}\nuv=={version} \\\n"
                    f"    --hash=sha256:{'1' * 64} \\\n    --hash=sha256:{digest}\n    # via mnist-tfx\n")
    return lock


@pytest.mark.skipif(sys.platform != "linux" or platform.machine() not in fetch_uv.WHEEL_TAGS, reason="no uv wheel tag")
def test_fetch_uv_takes_only_a_wheel_the_lock_lists(tmp_path, index):
    url, wheel = index
    good = lock_with(tmp_path, hashlib.sha256(wheel.read_bytes()).hexdigest())
    binary = fetch_uv.fetch(tmp_path / "good", lock=good, index=url)
    assert subprocess.run([str(binary)], capture_output=True, text=True).stdout == "uv 9.9.9\n"
    assert not list((tmp_path / "good").glob("*.whl"))  # only the binary is kept

    with pytest.raises(fetch_uv.FetchError, match="which requirements.lock does not list for uv"):
        fetch_uv.fetch(tmp_path / "bad", lock=lock_with(tmp_path, "2" * 64), index=url)
    assert not (tmp_path / "bad" / "uv").exists()
    with pytest.raises(fetch_uv.FetchError, match="lists no uv-9.9.8-py3-none-"):
        fetch_uv.fetch(tmp_path / "none", lock=lock_with(tmp_path, "2" * 64, "9.9.8"), index=url)
    with pytest.raises(fetch_uv.FetchError, match="the lock pins no uv"):
        fetch_uv.locked_uv("six==1.0 \\\n    --hash=sha256:" + "0" * 64)
