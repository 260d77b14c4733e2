"""Runs a task's command as KFP 2.17.0 may run its container: an unprivileged
uid with no passwd entry, in group 0 (OpenShift's arbitrary uid), with no
supplementary groups, no capabilities and no new privileges
(docs/kubeflow.md#the-security-context).

This machine and CI run as root, so `setpriv` drops all of that for the
command alone. In a pod, the image's files are readable by any uid; here the
interpreter the venv links to lives where another uid cannot pass (pyenv's,
under /root, mode 0700), and so may the checkout and pytest's temporary
directories (0700). So each command runs in a private mount namespace
(`unshare --mount`) in which every such directory on the way to what the
task needs is covered by an empty directory of root's, mode 0711, holding
bind mounts of just the entries on that way. The task sees the same paths:
the same venv, interpreter and command line. Nothing else in those
directories is visible to it, and the mounts end with the command.

What the uid wrote is found afterwards by owner: `find` over the machine's
disk and /dev/shm for what it owns whose inode changed after a marker was
made (ctime, which no process can set back).
"""
import contextlib
import os
import pwd
import shlex
import shutil
import subprocess
import sys
import tempfile
from typing import Dict, Iterable, Iterator, List, NoReturn, Optional, Sequence, Set, Tuple

# In the range OpenShift gives a namespace's pods; no passwd entry here (nor
# for TASK_UID + 1, below).
TASK_UID = 1000690000
TASK_GID = 0
# Every filesystem the uid could write to: the disk (-xdev keeps find on
# it, off /proc and the like) and the shared-memory tmpfs.
WRITABLE_FILESYSTEMS = ("/", "/dev/shm")
# Where getpass looks before the passwd database; a pod's environment sets none.
USER_VARIABLES = ("LOGNAME", "USER", "LNAME", "USERNAME")


def _allows(path: str, uid: int, gid: int, bit: int) -> bool:
    """The mode bit (4 read, 2 write, 1 search) that applies to `uid`:`gid` (no ACLs here)."""
    st = os.stat(path)
    shift = 6 if st.st_uid == uid else 3 if st.st_gid == gid else 0
    return bool((st.st_mode >> shift) & bit)


def _blocked(paths: Iterable[str], uid: int, gid: int) -> Dict[str, Set[str]]:
    """{directory the uid cannot pass: its entries on the way to `paths`}."""
    blocked: Dict[str, Set[str]] = {}
    for path in paths:
        parts = os.path.realpath(path).strip("/").split("/")
        for depth in range(1, len(parts)):
            directory = "/" + "/".join(parts[:depth])
            if not _allows(directory, uid, gid, 1):
                blocked.setdefault(directory, set()).add(parts[depth])
    return blocked


def outside(paths: Iterable[str], roots: Iterable[str]) -> List[str]:
    """The paths that are none of `roots` and under none of them."""
    prefixes = [root.rstrip("/") + "/" for root in roots]
    return [p for p in paths if not any((p.rstrip("/") + "/").startswith(r) for r in prefixes)]


class RunAs:
    """Commands run as `uid`:`gid`, able to reach `reach`, the venv and its
    interpreter. `writable` lists every directory a task was given; `close()`
    removes the covering directories."""

    def __init__(self, reach: Sequence[str], uid: int = TASK_UID, gid: int = TASK_GID):
        self.uid, self.gid = uid, gid
        interpreter = [sys.executable, sys.base_prefix, sys.prefix]
        self.reach = [os.path.realpath(p) for p in [*interpreter, *reach]]
        self.writable: List[str] = []
        self._covers = tempfile.mkdtemp(prefix="run-as-covers-")
        self._mounts = self._cover(_blocked(self.reach, uid, gid))

    def close(self) -> None:
        shutil.rmtree(self._covers, ignore_errors=True)

    def _cover(self, blocked: Dict[str, Set[str]]) -> List[str]:
        """The mount commands. Deepest first, so that a cover already in place
        travels (--rbind) into its parent's; the covers themselves must stay
        reachable meanwhile, so none may be inside a covered directory."""
        assert outside([self._covers], blocked) == [self._covers], (self._covers, sorted(blocked))
        lines = []
        for number, directory in enumerate(sorted(blocked, key=lambda d: -d.count("/"))):
            cover = os.path.join(self._covers, str(number))
            os.mkdir(cover)
            os.chmod(cover, 0o711)
            for name in sorted(blocked[directory]):
                source, target = os.path.join(directory, name), os.path.join(cover, name)
                if os.path.isdir(source):
                    os.mkdir(target)
                else:
                    open(target, "w").close()
                lines.append(f"mount --rbind {shlex.quote(source)} {shlex.quote(target)}")
            lines.append(f"mount --rbind {shlex.quote(cover)} {shlex.quote(directory)}")
        return lines

    def command(self, argv: Sequence[str]) -> List[str]:
        """`argv` as the uid: setpriv sets the uid and gid, clears the groups,
        empties every capability set it can (inheritable, bounding; the uid
        change empties the others) and forbids gaining privileges."""
        drop = ["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--clear-groups",
                "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
        script = "\n".join([*self._mounts, 'exec "$@"'])
        return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-euc", script, "run-as", *drop, *argv]

    def task(self, argv: Sequence[str], env: Dict[str, str], temp_dir: str,
             writable: Sequence[str]) -> Tuple[List[str], Dict[str, str]]:
        """A task's command line and environment as the uid. `temp_dir` (the
        pod's own /tmp, made its TMPDIR) and `writable` (what the launcher
        made for its outputs) become the uid's; its HOME must not be writable."""
        home = env.get("HOME", "")
        if home and os.path.isdir(home) and _allows(home, self.uid, self.gid, 2):
            raise ValueError(f"HOME={home} is writable by uid {self.uid}: a task must not need one")
        for directory in (temp_dir, *writable):
            os.makedirs(directory, exist_ok=True)
            os.chown(directory, self.uid, self.gid)
            self.writable.append(os.path.realpath(directory))
        env = {k: v for k, v in env.items() if k not in USER_VARIABLES}
        return self.command(argv), dict(env, TMPDIR=temp_dir)

    def why_not(self) -> Optional[str]:
        """None if a command runs here as the uid with no capabilities and
        imports the project; else why not."""
        if os.geteuid() != 0:
            return f"this process runs as uid {os.geteuid()}, not root: only root can start one as another uid"
        try:
            return f"uid {self.uid} is {pwd.getpwuid(self.uid).pw_name!r} here; a task's arbitrary uid has no passwd entry"
        except KeyError:
            pass
        missing = [tool for tool in ("setpriv", "unshare", "mount", "find") if not shutil.which(tool)]
        if missing:
            return f"{', '.join(missing)} not found (Debian's util-linux, mount and findutils)"
        probe = [sys.executable, "-c", "import os, pipeline; status = open('/proc/self/status').read();"
                 "print(os.getuid(), os.getgid(), os.getgroups(),"
                 " [line.split()[1] for line in status.splitlines() if line.startswith('Cap')])"]
        expected = f"{self.uid} {self.gid} [] {['0' * 16] * 5}"
        try:
            done = subprocess.run(self.command(probe), cwd="/", capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as e:
            return f"running {probe[0]} as uid {self.uid}: {e}"
        if done.returncode != 0 or done.stdout.strip() != expected:
            return (f"as uid {self.uid}, a probe printed {done.stdout.strip()!r} (exit status {done.returncode}), "
                    f"expected {expected!r}: {done.stderr.strip()[-1500:]}")
        return None


def marker(directory: str) -> str:
    """A file whose ctime is now: whatever the uid writes later has a later one."""
    fd, path = tempfile.mkstemp(prefix="run-as-since-", dir=directory)
    os.close(fd)
    return path


def written_by(uid: int, since: str, filesystems: Sequence[str] = WRITABLE_FILESYSTEMS) -> List[str]:
    """Every path on `filesystems` owned by `uid` whose inode changed after `since`'s."""
    done = subprocess.run(["find", *filesystems, "-xdev", "-uid", str(uid), "-cnewer", since, "-print0"],
                          capture_output=True, text=True)
    # Files that other processes delete mid-walk make find complain and exit
    # 1; what it printed still stands.
    return sorted(p for p in done.stdout.split("\0") if p)


def cannot(reason: str) -> NoReturn:
    """Skips a test that needs the uid, saying why; under CI (CI=true), where
    the check must run, fails it instead."""
    import pytest

    if os.environ.get("CI") == "true":
        pytest.fail(f"cannot run the tasks as an unprivileged uid under CI: {reason}")
    pytest.skip(f"cannot run the tasks as an unprivileged uid here: {reason}")


@contextlib.contextmanager
def unprivileged(*reach: str, uid: int = TASK_UID + 1) -> Iterator[RunAs]:
    """A RunAs able to reach `reach`, for a test that needs one: the test is
    skipped (failed under CI) where it cannot be had. Not TASK_UID: such a
    test may run on the other xdist worker while the driver's e2e test
    counts every file of TASK_UID's as one of its tasks'."""
    user = RunAs(reach, uid=uid)
    try:
        reason = user.why_not()
        if reason:
            cannot(reason)
        yield user
    finally:
        user.close()
