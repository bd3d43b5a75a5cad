"""Run one part of one submission in a child of its own, with limits, and collect what it left.

The child (``grader.runner``) gets the work folder (copies of the submission and the data), a
HOME and temp folder of its own for each part, and a session of its own. Before a part runs, its
outputs are emptied (the other part cannot plant them) and the other part's are read-only.
Run as root (where ``unshare`` allows it), the child also gets:

- its own PID namespace, whose first process is a small ``sh`` that outlives the runner: when it
  exits, the kernel kills every process left in the namespace, however it was started (new
  session, double fork, cleared environment); it first counts them for the feedback;
- its own mount namespace, in which the whole file system is read-only except the work folder,
  ``/tmp`` and ``/dev/shm`` are private size-capped tmpfs, the project checkout is hidden except
  the ``grader`` package (so the goldens, the reference solution and ``.git`` cannot be read),
  ``hidden`` folders (the goldens, the golden cache) are covered, and ``/proc/sys`` is read-only;
- its own network namespace: loopback only (Spark talks to itself over 127.0.0.1), nothing to
  send the goldens or the grader's secrets anywhere;
- no capabilities, so it cannot undo any of it.

A watchdog kills the whole group on a time, memory or process-count limit (``ChildRun.killed``
says which); RLIMIT_DATA stops a single huge allocation at once, as a MemoryError.
"""

from __future__ import annotations

import functools
import json
import os
import re
import resource
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psutil

import grader
from grader.runner import OUTPUTS

MARKER = "DSC650_GRADER_SANDBOX"
POLL_SECONDS = 0.2
# Measured on the reference with -Xmx1g (local[2], 4 queries): the JVM peaks at 4.5 GiB VSZ,
# 1.8 GiB VmData (mostly 4 MiB thread stacks x ~280 threads) and 0.6 GiB RSS; the Python driver
# and the feed at 1.9 / 1.6 GiB VSZ, 1.2 GiB VmData, 0.14 GiB RSS. RLIMIT_AS would have to sit above
# the JVM's reservations and so would catch nothing; RLIMIT_DATA counts only private writable
# memory, so a per-process cap of max(limit, this floor) leaves Spark room and stops a 40 GiB
# bytearray at once.
DATA_FLOOR = 4 * 2**30
SETUP_FAILED = 125  # the confinement script's own exit code: a grader fault, never the student's
TMP_SIZE = "256m"  # the child's private /tmp (JVM scratch: hsperfdata, native libraries)
SHM_SIZE = "64m"


# sh, run as the PID namespace's first process once the runner has exited: n = live processes
# other than itself that neither are the Spark JVM nor descend from it (stat: "pid (comm) S ppid ...").
_COUNT_LEFTOVERS = """n=0
for p in /proc/[0-9]*; do
  [ "$p" = /proc/1 ] && continue
  read -r s < "$p/stat" 2>/dev/null || continue
  case "${s##*) }" in Z*) continue;; esac
  q=$p; spark=
  while read -r s < "$q/stat" 2>/dev/null; do
    if grep -qa -e org.apache.spark.deploy.SparkSubmit "$q/cmdline" 2>/dev/null; then spark=1; break; fi
    pp=${s##*) }; pp=${pp#* }; pp=${pp%% *}
    [ "$pp" -gt 1 ] 2>/dev/null || break
    q=/proc/$pp
  done
  [ -n "$spark" ] || n=$((n+1))
done"""


class SandboxError(RuntimeError):
    """The sandbox itself could not be set up: a fault of the grader or the machine."""


@dataclass(frozen=True)
class Limits:
    """Per-part limits; the defaults suit the bundled fixtures and the course data."""

    part_seconds: float = 300.0
    memory_bytes: int = 6 * 2**30
    file_bytes: int = 2 * 2**30
    processes: int = 64
    output_bytes: int = 64 * 2**10


@dataclass
class ChildRun:
    """How one child ended: plain facts for the checks and the feedback."""

    part: str
    work: Path
    returncode: int | None = None
    killed: str | None = None  # "time", "memory" or "processes": the watchdog stopped it
    seconds: float = 0.0
    stdout: str = ""
    stderr: str = ""
    output_dropped: int = 0
    leftovers: int = 0  # processes still running when the part ended (all were killed)
    peak_memory: int = 0  # bytes: the largest RSS sum of the process tree the watchdog saw
    peak_processes: int = 0
    token: str = ""  # the value of MARKER in the child's environment
    confined: bool = False
    notes: list[str] = field(default_factory=list)


PROJECT = Path(grader.__file__).resolve().parent.parent


def _is_checkout(project: Path) -> bool:
    """A source checkout (not site-packages): everything in it but ``grader`` can be hidden."""
    return (project / "pyproject.toml").is_file() and (project / "grader" / "runner.py").is_file()


@functools.cache
def _can_confine() -> bool:
    if os.geteuid() != 0 or not (shutil.which("unshare") and shutil.which("setpriv")):
        return False
    probe = subprocess.run(
        ["unshare", "--mount", "--pid", "--fork", "--mount-proc", "--kill-child", "--propagation", "private", "true"],
        capture_output=True,
    )
    return probe.returncode == 0


@functools.cache
def _can_isolate_network() -> bool:
    ip = shutil.which("ip")
    if not ip:
        return False
    probe = subprocess.run(["unshare", "--net", ip, "link", "set", "lo", "up"], capture_output=True)
    return probe.returncode == 0


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


def _under(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _java_home() -> Path | None:
    if os.environ.get("JAVA_HOME"):
        return Path(os.environ["JAVA_HOME"]).resolve()
    java = shutil.which("java")
    return Path(java).resolve().parent.parent if java else None


def _runtime() -> list[Path]:
    """What the child must still see wherever it lives: the interpreter, the venv, Java."""
    paths = [Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve().parent.parent, _java_home()]
    return [p.resolve() for p in paths if p is not None and p.exists()]


def confinement(read_only: list[Path], hidden: list[Path], writable: list[Path]) -> list[str]:
    """A command prefix that runs the child confined (see the module's docstring): ``writable``
    folders stay writable, the rest of the file system is read-only, ``read_only`` paths inside
    ``writable`` are made read-only too, and ``hidden`` folders are covered by an empty tmpfs.

    The prefix expects the status pipe's write end as its stdin: it writes ``ready`` once
    confined, then ``exit N`` and ``leftovers N`` when the child is done. Empty when the
    machine does not allow confinement.
    """
    if not _can_confine():
        return []
    q = shlex.quote
    writable = [Path(p).resolve() for p in writable]
    covers: list[tuple[Path, str, bool]] = []  # (folder, tmpfs options, read-only once set up)
    for path, options, ro in (
        (Path("/dev/shm"), f"size={SHM_SIZE},mode=1777,nosuid,nodev", False),
        (Path("/tmp"), f"size={TMP_SIZE},mode=1777,nosuid,nodev", False),
        *([(PROJECT, "size=1m,mode=0755", True)] if _is_checkout(PROJECT) else []),
        *((Path(h).resolve(), "size=4k,mode=0555", True) for h in hidden),
    ):
        if path.is_dir() and not path.is_symlink() and not any(_under(path, c) for c, _, _ in covers):
            covers.append((path, options, ro))

    def under_cover(path: Path) -> bool:
        return any(_under(path, c) for c, _, _ in covers)

    keeps = [(p, True) for p in writable]
    if _is_checkout(PROJECT):
        keeps.append((PROJECT / "grader", False))
    keeps += [(p, False) for p in _runtime() if under_cover(p) and not any(_under(p, k) for k, _ in keeps)]
    fds = dict(zip([k for k, _ in keeps if under_cover(k)], (3, 4, 6, 7, 8, 9)))
    if len(fds) < sum(under_cover(k) for k, _ in keeps):
        return []  # more folders to carry through than the shell has descriptors: run unconfined

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
    # Everything else read-only: each writable mount the grader sees, except what is covered
    # or replaced above (their tmpfs is on top) and /proc (the PID namespace has its own).
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
        step(f"{{ [ ! -e {p} ] || {{ mount -n --bind {p} {p} && mount -n -o remount,bind,ro {p}; }}; }}", f"make {p} read-only")
    network = _can_isolate_network()
    if network:
        ip = q(shutil.which("ip") or "ip")
        step(f"{ip} link set lo up", "bring up the loopback")
        # Without a hardware address Netty logs a random one on stderr, whose last line the
        # feedback may quote: a tap device (never connected, a documentation address) gives it one.
        step(f"{{ {ip} tuntap add dev dsc650 mode tap && {ip} link set dsc650 address 02:00:00:00:06:50 && "
             f"{ip} addr add 192.0.2.1/32 dev dsc650 && {ip} link set dsc650 up; }}", "give Netty a hardware address", "warn")
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
    flags = ["--mount", "--pid", "--fork", "--mount-proc", "--kill-child", "--propagation", "private"]
    return ["unshare", *flags, *(["--net"] if network else []), "sh", "-c", script, "confine"]


class _Capped:
    """Reads a pipe to the end, keeping the first ``cap`` bytes (the rest is read and dropped,
    so a child that prints without end never blocks on a full pipe)."""

    def __init__(self, pipe, cap: int) -> None:
        self.kept = bytearray()
        self.dropped = 0
        self.thread = threading.Thread(target=self._read, args=(pipe, cap), daemon=True)
        self.thread.start()

    def _read(self, pipe, cap: int) -> None:
        while chunk := pipe.read(65536):
            room = cap - len(self.kept)
            self.kept += chunk[: max(room, 0)]
            self.dropped += max(len(chunk) - max(room, 0), 0)

    def text(self) -> str:
        self.thread.join(timeout=5)
        return self.kept.decode("utf-8", "replace")


def _marked(token: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get(MARKER) == token:
                found.append(proc)
        except (psutil.Error, OSError):
            continue
    return found


def _stragglers(token: str, session: int, seen: dict[int, float], since: float) -> list[psutil.Process]:
    """Processes of this child still alive: by marker, by session (started after ``since``, so
    not a reused id), or seen in its tree (same start time)."""
    found = {p.pid: p for p in _marked(token)}
    for proc in psutil.process_iter(["create_time"]):
        try:
            if proc.pid in found or proc.pid == os.getpid():
                continue
            created = proc.info["create_time"]
            if seen.get(proc.pid) == created or (created >= since - 1 and os.getsid(proc.pid) == session):
                found[proc.pid] = proc
        except (psutil.Error, OSError):
            continue
    return list(found.values())


def _kill(procs: list[psutil.Process]) -> int:
    for proc in procs:
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(procs, timeout=5)
    return len(procs)


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def prepare(work: Path, submission: Path, data_dir: Path) -> tuple[Path, Path]:
    """Copy submission and data into ``work``; return their copies."""
    (work / "home").mkdir(parents=True, exist_ok=True)
    (work / "tmp").mkdir(exist_ok=True)
    sub = work / "submission"
    shutil.copytree(submission, sub, ignore=shutil.ignore_patterns("results", "__pycache__", ".*"))
    data = work / "data"
    shutil.copytree(data_dir, data)
    return sub, data


def _tree(parent: psutil.Process) -> tuple[list[psutil.Process], int]:
    """The child's process tree and its RSS sum; a process that vanished or is a zombie counts 0."""
    try:
        tree = [parent, *parent.children(recursive=True)]
    except psutil.Error:
        return [], 0
    rss = 0
    for proc in tree:
        try:
            rss += proc.memory_info().rss
        except psutil.Error:
            continue
    return tree, rss


def _status_reader(fd: int) -> tuple[threading.Thread, list[str]]:
    lines: list[str] = []

    def read() -> None:
        with os.fdopen(fd, "rb") as pipe:
            for line in pipe:
                if len(lines) < 16:
                    lines.append(line.decode("ascii", "replace").strip())

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread, lines


def child_env(home: Path, tmp: Path) -> dict[str, str]:
    """The whole environment of a process that starts a grading JVM: nothing of the grader's own
    (no secrets, no SPARK_* or HADOOP_* that would change the JVM's classpath)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "TMPDIR": str(tmp),
        "TZ": "UTC",
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(PROJECT),
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "PYSPARK_PYTHON": sys.executable,
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
    if "JAVA_HOME" in os.environ:
        env["JAVA_HOME"] = os.environ["JAVA_HOME"]
    return env


def stage(work: Path, submission: Path, data_dir: Path, start: datetime, limits: Limits, parts: list[str],
          class_archive: Path | None = None) -> None:
    """Make ``parts`` ready to run, before any of them starts.

    Each part's outputs are emptied (anything there was planted) and created empty, and its spec
    is written: so when two parts run at once, each child's confinement finds the other's
    outputs and spec in place and makes them read-only from its first instant. The queries
    child's JVM maps ``class_archive`` (``grader.class_archive``) when one is given.
    """
    work = Path(work)
    for part in parts:
        for name in OUTPUTS[part]:
            _remove(work / name)
            if "." in name:
                (work / name).touch()
            else:
                (work / name).mkdir()
        for folder in (work / "home" / part, work / "tmp" / part):
            _remove(folder)
            folder.mkdir(parents=True)
        spec = {"part": part, "work": str(work), "submission": str(submission), "data_dir": str(data_dir),
                "start": start.isoformat(), "memory_bytes": limits.memory_bytes,
                "class_archive": str(class_archive) if class_archive and part == "queries" else None}
        spec_path = work / f"{part}.spec.json"
        _remove(spec_path)
        spec_path.write_text(json.dumps(spec))


def run_part(part: str, work: Path, submission: Path, data_dir: Path, start: datetime, limits: Limits,
             read_only: list[Path] | None = None, hidden: list[Path] | None = None, staged: bool = False) -> ChildRun:
    """Run ``part`` ("feed" or "queries") in a fresh child; never raises for the student's faults
    (raises SandboxError when the confinement itself cannot be set up).

    ``read_only`` paths (default: the project) cannot be written by the child; the data copy,
    the spec files and what the other part left are read-only too. ``hidden`` folders (the
    goldens) cannot be read, where the machine allows it (root: namespaces; else as is).
    ``staged``: the caller has run ``stage`` for this part (to run parts at once).
    """
    work = Path(work)
    token = secrets.token_hex(8)
    if not staged:
        stage(work, submission, data_dir, start, limits, [part])
    home, tmp = work / "home" / part, work / "tmp" / part
    spec_path = work / f"{part}.spec.json"
    env = {**child_env(home, tmp), MARKER: token}
    data_limit = max(limits.memory_bytes, DATA_FLOOR)

    def limit_child() -> None:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
        resource.setrlimit(resource.RLIMIT_DATA, (data_limit, data_limit))

    others = [work / name for other, names in OUTPUTS.items() if other != part for name in names]
    specs = [work / f"{name}.spec.json" for name in OUTPUTS]
    protected = [*(read_only if read_only is not None else [PROJECT]), Path(data_dir), *specs, *others]
    prefix = confinement(protected, hidden or [], [work])
    run = ChildRun(part=part, work=work, token=token, confined=bool(prefix))
    status_read, status_write = os.pipe() if prefix else (None, None)
    began = time.monotonic()
    wall = time.time()
    try:
        child = subprocess.Popen(
            # -P: the work folder (cwd) must not shadow the grader's modules
            [*prefix, sys.executable, "-P", "-m", "grader.runner", str(spec_path)],
            cwd=work,
            env=env,
            stdin=status_write if prefix else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=limit_child,
        )
    except BaseException:
        if status_read is not None:
            os.close(status_read)
        raise
    finally:
        if status_write is not None:
            os.close(status_write)
    status_thread, status = _status_reader(status_read) if status_read is not None else (None, [])
    out, err = _Capped(child.stdout, limits.output_bytes), _Capped(child.stderr, limits.output_bytes)
    seen: dict[int, float] = {}
    try:
        parent = psutil.Process(child.pid)
        over = 0
        while child.poll() is None:
            time.sleep(POLL_SECONDS)
            if time.monotonic() - began > limits.part_seconds:
                run.killed = "time"
            else:
                tree, rss = _tree(parent)
                for proc in tree:
                    try:
                        seen.setdefault(proc.pid, proc.create_time())
                    except psutil.Error:
                        pass
                run.peak_memory = max(run.peak_memory, rss)
                run.peak_processes = max(run.peak_processes, len(tree))
                # Two looks in a row: a JVM forking a helper is briefly counted twice.
                over = over + 1 if rss > limits.memory_bytes else 0
                if over >= 2:
                    run.killed = "memory"
                elif len(tree) > limits.processes:
                    run.killed = "processes"
            if run.killed:
                try:
                    os.killpg(child.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                break
        child.wait()
    finally:
        strays = _kill(_stragglers(token, child.pid, seen, wall))
        if child.poll() is None:
            child.kill()
            child.wait()
    run.seconds = round(time.monotonic() - began, 3)
    run.stdout, run.stderr = out.text(), err.text()
    run.output_dropped = out.dropped + err.dropped
    run.returncode = child.returncode
    if status_thread is not None:
        status_thread.join(timeout=5)
        report = dict(line.split(" ", 1) for line in status if " " in line)
        if "ready" not in status and not run.killed:
            tail = " ".join(run.stderr.strip().splitlines()[-3:])[:500]
            raise SandboxError(f"the sandbox for {part} could not be set up (exit {child.returncode}): {tail}")
        if report.get("exit", "").isdigit():
            code = int(report["exit"])
            run.returncode = -(code - 128) if code > 128 else code  # the shell reports a signal as 128+n
        if report.get("leftovers", "").isdigit():
            run.leftovers = int(report["leftovers"])
    else:
        run.leftovers = strays
    if run.leftovers and not run.killed:
        run.notes.append(
            f"{part}: {run.leftovers} process(es) your code started were still running when this part ended; "
            "the grader stopped them (start no background processes, or wait for them)"
        )
    if run.killed == "memory":
        run.notes.append(f"{part}: stopped at {run.peak_memory / 2**30:.1f} GiB of memory; the limit is {limits.memory_bytes / 2**30:g} GiB")
    elif run.killed == "processes":
        run.notes.append(f"{part}: stopped with {run.peak_processes} processes running; the limit is {limits.processes}")
    if prefix:
        run.notes.append("isolation: own process, mount and network namespaces; files read-only outside the work folder; no capabilities")
    else:
        run.notes.append("isolation: own process group only (no root to confine further)")
    return run
