"""How a child running student code is confined on this machine: the strongest mode it allows.

- ``namespaces`` (root, as on an instructor's machine or a CI runner under sudo): the child gets
  its own PID, mount and network namespaces and no capabilities. The whole file system is
  read-only but its work folder, the grader's secrets (goldens, reference, the project's other
  files, the goldens cache, HOME) are covered by empty folders, /tmp is private, the network is
  loopback only, and every process it leaves dies with its PID namespace.
- ``sandbox-user`` (root without CAP_SYS_ADMIN: Docker's default profile, so Gradescope): the
  child runs as an unprivileged user of its own (``grader.sandbox.users``), the secrets are made
  unreadable to other users, and everything but its own outputs belongs to root. The network is
  not isolated and /tmp is shared (swept after each part).
- ``user-namespaces`` (no root, where the kernel allows unprivileged user namespaces): the
  ``namespaces`` confinement, inside a user namespace of the grader's own user.
- ``unconfined``: none of these is possible (a laptop or a CI runner without user namespaces).
  Only the time, memory and process limits apply, and every report says so plainly.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from grader import paths
from grader.sandbox.users import SandboxError, take_slot

MODES = ("namespaces", "sandbox-user", "user-namespaces", "unconfined")
DESCRIPTIONS = {
    "namespaces": "confined as root with namespaces: its own process, mount and network namespaces, the file "
                  "system read-only outside its work folder, the grader's files hidden, no capabilities",
    "sandbox-user": "confined as a sandbox user (root without namespaces, as in Docker): an unprivileged user of its "
                    "own, the grader's files unreadable and everything outside its work folder read-only to it; "
                    "the network was not isolated",
    "user-namespaces": "confined in user namespaces: its own user, process, mount and network namespaces, the file "
                       "system read-only outside its work folder, the grader's files hidden",
    "unconfined": "NOT confined: student code ran as the grader's own user, with its access to files and the "
                  "network; only time, memory and process limits applied",
}
SETUP_FAILED = 125  # the confinement script's own exit code: a grader fault, never the student's
TMP_SIZE = "256m"  # the child's private /tmp (JVM scratch: hsperfdata, native libraries)
SHM_SIZE = "64m"
_NAMESPACES = ["--mount", "--pid", "--fork", "--mount-proc", "--kill-child", "--propagation", "private"]


@dataclass(frozen=True)
class Isolation:
    mode: str
    why: str = ""  # why no stronger mode was possible

    @property
    def confined(self) -> bool:
        return self.mode != "unconfined"

    @property
    def description(self) -> str:
        return DESCRIPTIONS[self.mode]


def child_env(home: Path, tmp: Path) -> dict[str, str]:
    """The whole environment of a process that runs a part or starts a grading JVM: nothing of the
    grader's own (no secrets, no SPARK_* or HADOOP_* that would change the JVM's classpath)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "TMPDIR": str(tmp),
        "TZ": "UTC",
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(paths.PACKAGE.parent),
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "PYSPARK_PYTHON": paths.PYTHON,
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
    if "JAVA_HOME" in os.environ:
        env["JAVA_HOME"] = os.environ["JAVA_HOME"]
    return env


def _java_home() -> Path | None:
    if os.environ.get("JAVA_HOME"):
        return Path(os.environ["JAVA_HOME"]).resolve()
    java = shutil.which("java")
    return Path(java).resolve().parent.parent if java else None


def runtime() -> list[Path]:
    """What the child must still reach wherever it lives: the interpreter, the venv, every site
    folder its imports come from (a .pth may add another venv's), Java, the grader."""
    sites = [Path(p) for p in sys.path if Path(p).name in ("site-packages", "dist-packages")]
    found = [Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve().parent.parent, *sites,
             _java_home(), paths.PACKAGE]
    return list(dict.fromkeys(p.resolve() for p in found if p is not None and p.exists()))


def _under(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _run(command: list[str], **kwargs: object) -> bool:
    try:
        return subprocess.run(command, capture_output=True, timeout=60, **kwargs).returncode == 0  # type: ignore[call-overload]
    except (OSError, subprocess.TimeoutExpired):
        return False


@functools.cache
def unavailable(mode: str) -> str | None:
    """Why ``mode`` cannot run on this machine, or None when it can (probed once per process)."""
    root = os.geteuid() == 0
    missing = [tool for tool in ("unshare", "setpriv") if not shutil.which(tool)]
    if mode == "unconfined":
        return None
    if missing:
        return f"{' and '.join(missing)} not installed (util-linux)"
    if mode == "namespaces":
        if not root:
            return "not running as root"
        if not _run(["unshare", *_NAMESPACES, "true"]):
            return "root may not create namespaces here (no CAP_SYS_ADMIN, as in Docker)"
        return None
    if mode == "user-namespaces":
        probe = "mount -n -t tmpfs -o size=4k dsc650 /tmp"
        if not _run(["unshare", "--user", "--map-root-user", *_NAMESPACES, "sh", "-c", probe]):
            return "unprivileged user namespaces are not allowed here (or may not mount)"
        return None
    if mode == "sandbox-user":
        if not root:
            return "not running as root"
        return _sandbox_user_probe()
    raise ValueError(f"unknown isolation mode {mode!r}: one of {', '.join(MODES)}")


def _sandbox_user_probe() -> str | None:
    try:
        with take_slot() as slot:
            uid = slot.uids["queries"]
            env = child_env(Path("/nonexistent"), Path("/tmp"))
            command = [*user_prefix(uid, slot.gid), paths.PYTHON, "-P", "-c", "import grader.runner, pyspark, pyarrow"]
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    except (SandboxError, OSError, subprocess.TimeoutExpired) as error:
        return f"no sandbox user: {error}"
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1][:200]
        return f"the sandbox user cannot run the grader's Python ({paths.PYTHON}): {tail}"
    return None


def choose(requested: str = "auto") -> Isolation:
    """The strongest mode available (``auto``), or exactly ``requested``; SandboxError if it cannot run."""
    if requested != "auto":
        why = unavailable(requested)
        if why:
            raise SandboxError(f"isolation {requested} is not available on this machine: {why}")
        return Isolation(requested)
    order = ("namespaces", "sandbox-user", "user-namespaces") if os.geteuid() == 0 else ("user-namespaces",)
    reasons = []
    for mode in order:
        why = unavailable(mode)
        if why is None:
            return Isolation(mode, "; ".join(reasons))
        reasons.append(f"{mode}: {why}")
    return Isolation("unconfined", "; ".join(reasons))


def user_prefix(uid: int, gid: int) -> list[str]:
    """Run the rest of the command as ``uid`` with no supplementary groups and no way back.

    ``env`` execs the command: setpriv keeps its capabilities until its own exec, so a command
    it execs directly is found even through folders the user may not search (a Python under
    /root), and would then run half-broken; through ``env`` the user's own rights apply.
    """
    return ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all",
            "--no-new-privs", "--", "env"]


def reachable(path: Path) -> bool:
    """Whether another user can reach ``path``: search on every folder above it, and read or search on it."""
    try:
        if any(not os.stat(parent).st_mode & stat.S_IXOTH for parent in path.parents):
            return False
        return bool(os.lstat(path).st_mode & (stat.S_IROTH | stat.S_IXOTH))
    except OSError:
        return False


def lock_down(secrets: list[Path]) -> list[str]:
    """For ``sandbox-user``: make each of ``secrets`` that another user can reach unreadable to
    others (chmod o-rwx on it alone), except one that holds what the child needs (the venv, the
    interpreter): those are left as they are. Returns the paths changed, to be said once."""
    needed = runtime()
    changed: list[str] = []
    for secret in secrets:
        path = secret.resolve()
        if not reachable(path) or any(_under(n, path) for n in needed):
            continue
        mode = os.lstat(path).st_mode
        if mode & stat.S_IRWXO and not stat.S_ISLNK(mode):
            os.chmod(path, mode & ~stat.S_IRWXO & 0o7777)
            changed.append(str(path))
    return changed


def _unescape(field_: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field_)


def _mounts() -> dict[Path, bool]:
    """Every mount point the grader sees -> whether it is writable (the topmost mount wins)."""
    found: dict[Path, bool] = {}
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        if len(fields) > 5:
            found[Path(_unescape(fields[4]))] = "rw" in fields[5].split(",")
    return found


@functools.cache
def _can_isolate_network(user: bool) -> bool:
    ip = shutil.which("ip")
    prefix = ["unshare", "--user", "--map-root-user"] if user else ["unshare"]
    return bool(ip) and _run([*prefix, "--net", ip or "ip", "link", "set", "lo", "up"])


def namespace_prefix(user: bool, read_only: list[Path], hidden: list[Path], writable: list[Path]) -> list[str]:
    """The command prefix that confines the child in namespaces (``user``: inside a user namespace).

    ``writable`` folders stay writable, the rest of the file system is read-only, ``read_only``
    paths inside ``writable`` are made read-only too, and ``hidden`` paths are covered by an
    empty folder (the runtime inside them stays reachable). The prefix expects the status pipe's
    write end as its stdin: it writes ``ready`` once confined, then ``exit N`` and
    ``leftovers N`` when the child is done.
    """
    q = shlex.quote
    writable = [Path(p).resolve() for p in writable]
    covers: list[tuple[Path, str, bool]] = []  # (folder, tmpfs options, read-only once set up)
    checkout = [paths.CHECKOUT] if paths.CHECKOUT else []
    candidates = [
        (Path("/dev/shm"), f"size={SHM_SIZE},mode=1777,nosuid,nodev", False),
        (Path("/tmp"), f"size={TMP_SIZE},mode=1777,nosuid,nodev", False),
        *((p, "size=1m,mode=0755", True) for p in checkout),
        *((Path(h).resolve(), "size=4k,mode=0555", True) for h in hidden),
    ]
    for path, options, ro in sorted(candidates, key=lambda c: len(c[0].parts)):  # a folder before what it holds
        if path.is_dir() and not path.is_symlink() and not any(_under(path, c) for c, _, _ in covers):
            covers.append((path, options, ro))

    def under_cover(path: Path) -> bool:
        return any(_under(path, c) for c, _, _ in covers)

    keeps = [(p, True) for p in writable] + [(p, False) for p in sorted(runtime(), key=lambda p: len(p.parts))]
    keeps = [(p, w) for n, (p, w) in enumerate(keeps) if not any(_under(p, k) for k, _ in keeps[:n])]
    keeps = [(p, w) for p, w in keeps if w or under_cover(p)]
    fds = dict(zip([k for k, _ in keeps if under_cover(k)], (3, 4, 6, 7, 8, 9)))
    if len(fds) < sum(under_cover(k) for k, _ in keeps):
        raise SandboxError(f"too many folders to keep reachable inside hidden ones: {', '.join(str(k) for k, _ in keeps)}")

    steps = ["exec 5>&0 </dev/null"]

    def step(command: str, what: str, give_up: str = "fail") -> None:
        steps.append(f"{command} || {give_up} {q(what)}")

    for path, fd in fds.items():
        step(f"exec {fd}<{q(str(path))}", f"open {path}")
    for path, options, _ in covers:
        step(f"mount -n -t tmpfs -o {options} dsc650 {q(str(path))}", f"cover {path}")
    for path, _ in keeps:
        p = q(str(path))
        if path in fds:
            step(f"mkdir -p {p} && mount -n -c --bind /proc/self/fd/{fds[path]} {p} && exec {fds[path]}<&-", f"keep {path}")
        else:
            step(f"mount -n --bind {p} {p}", f"keep {path}")
    # Everything else read-only: each writable mount the grader sees, except what is covered or
    # replaced above (their tmpfs is on top) and /proc (the PID namespace has its own).
    # The root must go read-only; another mount that refuses is reported, not fatal.
    for point, rw in sorted(_mounts().items()):
        if rw and not under_cover(point) and not _under(point, Path("/proc")) and point not in dict(keeps):
            step(f"mount -n -o remount,bind,ro {q(str(point))}", f"make {point} read-only",
                 "fail" if point == Path("/") else "warn")
    for path in [k for k, is_writable in keeps if not is_writable] + [c for c, _, ro in covers if ro]:
        step(f"mount -n -o remount,bind,ro {q(str(path))}", f"make {path} read-only")
    for path in read_only:
        path = Path(os.path.abspath(path))
        if path.exists() and not path.is_symlink() and any(_under(path, w) for w in writable) and path not in writable:
            p = q(str(path))
            step(f"mount -n --bind {p} {p} && mount -n -o remount,bind,ro {p}", f"make {path} read-only")
    for name in ("sys", "sysrq-trigger", "irq", "bus", "fs"):
        p = f"/proc/{name}"
        step(f"{{ [ ! -e {p} ] || {{ mount -n --bind {p} {p} && mount -n -o remount,bind,ro {p}; }}; }}",
             f"make {p} read-only", "warn" if user else "fail")
    network = _can_isolate_network(user)
    if network:
        step(f"{q(shutil.which('ip') or 'ip')} link set lo up", "bring up the loopback")
    if writable:
        step(f"cd {q(str(writable[0]))}", f"enter {writable[0]}")
    steps.append("echo ready >&5")
    steps.append('setpriv --bounding-set=-all --inh-caps=-all --no-new-privs "$@" 5>&-; rc=$?')
    # What is still running once the runner is gone was started by the student, except the Spark
    # JVM and what it forked (it winds down on its own). The kernel kills it all when this shell exits.
    steps.append(_COUNT_LEFTOVERS)
    steps.append('echo "exit $rc" >&5; echo "leftovers $n" >&5; exit $rc')
    script = "\n".join([
        f"fail() {{ echo \"dsc650 sandbox setup failed: $1\" >&2; exit {SETUP_FAILED}; }}",
        'warn() { echo "dsc650 sandbox: could not $1" >&2; }',
        *steps,
    ])
    user_flags = ["--user", "--map-root-user"] if user else []
    return ["unshare", *user_flags, *_NAMESPACES, *(["--net"] if network else []), "sh", "-c", script, "confine"]


# sh, run as the PID namespace's first process once the runner has exited: n = live processes
# other than itself that neither are the Spark JVM nor descend from it nor are exiting (stat: "pid (comm) S ppid ...").
_COUNT_LEFTOVERS = """n=0
for p in /proc/[0-9]*; do
  [ "$p" = /proc/1 ] && continue
  read -r s < "$p/stat" 2>/dev/null || continue
  case "${s##*) }" in Z*) continue;; esac
  c=$(tr -d '\\000' < "$p/cmdline" 2>/dev/null); [ -n "$c" ] || continue  # exiting: see watchdog.leftovers
  q=$p; spark=
  while read -r s < "$q/stat" 2>/dev/null; do
    if grep -qa -e org.apache.spark.deploy.SparkSubmit "$q/cmdline" 2>/dev/null; then spark=1; break; fi
    pp=${s##*) }; pp=${pp#* }; pp=${pp%% *}
    [ "$pp" -gt 1 ] 2>/dev/null || break
    q=/proc/$pp
  done
  [ -n "$spark" ] || n=$((n+1))
done"""
