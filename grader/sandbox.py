"""Run one part of one submission in its own process group, with limits, and collect what it left.

The child (``grader.runner``) gets its own working folder, HOME and temp space, and copies of
the submission and the data. Run as root, it also gets its own mount namespace in which the
project is read-only and the goldens are hidden, with every capability dropped. A watchdog kills the
whole group (JVM and anything the student spawned) on a time, memory or process-count limit.
"""

from __future__ import annotations

import functools
import json
import os
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

MARKER = "DSC650_GRADER_SANDBOX"


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
    killed: str | None = None  # "time", "memory" or "processes"
    seconds: float = 0.0
    stdout: str = ""
    stderr: str = ""
    output_dropped: int = 0
    leftovers: int = 0
    notes: list[str] = field(default_factory=list)


PROJECT = Path(grader.__file__).resolve().parent.parent


@functools.cache
def _can_confine() -> bool:
    if os.geteuid() != 0 or not (shutil.which("unshare") and shutil.which("setpriv")):
        return False
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"], capture_output=True)
    return probe.returncode == 0


def confinement(read_only: list[Path], hidden: list[Path]) -> list[str]:
    """A command prefix that runs the child in its own mount namespace, with ``read_only``
    folders remounted read-only, ``hidden`` ones covered by an empty tmpfs, and every
    capability dropped so it cannot undo either. Empty when the machine does not allow it.
    """
    if not _can_confine():
        return []
    steps = []
    for path in hidden:
        if path.is_dir():
            steps.append(f"mount -t tmpfs -o size=1m,mode=0555 none {shlex.quote(str(path))}")
    for path in read_only:
        if path.is_dir():
            q = shlex.quote(str(path))
            steps.append(f"mount --bind {q} {q} && mount -o remount,bind,ro {q} {q}")
    script = " && ".join([*steps, 'exec setpriv --bounding-set=-all --inh-caps=-all --no-new-privs "$@"'])
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "confine"]


class _Capped:
    """Reads a pipe to the end, keeping the first ``cap`` bytes."""

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


def _kill(procs: list[psutil.Process]) -> int:
    for proc in procs:
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(procs, timeout=5)
    return len(procs)


def prepare(work: Path, submission: Path, data_dir: Path) -> tuple[Path, Path]:
    """Copy submission and data into ``work``; return their copies."""
    (work / "home").mkdir(parents=True, exist_ok=True)
    (work / "tmp").mkdir(exist_ok=True)
    sub = work / "submission"
    shutil.copytree(submission, sub, ignore=shutil.ignore_patterns("results", "__pycache__", ".*"))
    data = work / "data"
    shutil.copytree(data_dir, data)
    return sub, data


def run_part(part: str, work: Path, submission: Path, data_dir: Path, start: datetime, limits: Limits,
             read_only: list[Path] | None = None, hidden: list[Path] | None = None) -> ChildRun:
    """Run ``part`` ("feed" or "queries") in a fresh child; never raises for the student's faults.

    ``read_only`` folders (default: the project) cannot be written by the child, ``hidden`` ones
    (the goldens) cannot be read, where the machine allows it (root: mount namespace; else as is).
    """
    token = secrets.token_hex(8)
    spec = {"part": part, "work": str(work), "submission": str(submission), "data_dir": str(data_dir), "start": start.isoformat()}
    spec_path = work / f"{part}.spec.json"
    spec_path.write_text(json.dumps(spec))
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(work / "home"),
        "TMPDIR": str(work / "tmp"),
        "TZ": "UTC",
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(Path(grader.__file__).resolve().parent.parent),
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "PYSPARK_PYTHON": sys.executable,
        "SPARK_LOCAL_IP": "127.0.0.1",
        MARKER: token,
    }
    if "JAVA_HOME" in os.environ:
        env["JAVA_HOME"] = os.environ["JAVA_HOME"]

    def limit_child() -> None:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))

    run = ChildRun(part=part, work=work)
    began = time.monotonic()
    prefix = confinement(read_only if read_only is not None else [PROJECT], hidden or [])
    child = subprocess.Popen(
        [*prefix, sys.executable, "-m", "grader.runner", str(spec_path)],
        cwd=work,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=limit_child,
    )
    out, err = _Capped(child.stdout, limits.output_bytes), _Capped(child.stderr, limits.output_bytes)
    try:
        parent = psutil.Process(child.pid)
        while child.poll() is None:
            time.sleep(0.2)
            if time.monotonic() - began > limits.part_seconds:
                run.killed = "time"
            else:
                try:
                    tree = [parent, *parent.children(recursive=True)]
                    rss = sum(p.memory_info().rss for p in tree if p.is_running())
                except psutil.Error:
                    continue
                if rss > limits.memory_bytes:
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
        run.leftovers = _kill(_marked(token))
        if child.poll() is None:
            child.kill()
    run.returncode = child.returncode
    run.seconds = round(time.monotonic() - began, 3)
    run.stdout, run.stderr = out.text(), err.text()
    run.output_dropped = out.dropped + err.dropped
    if prefix:
        run.notes.append("isolation: own mount namespace, grader files read-only, no capabilities")
    else:
        run.notes.append("isolation: own process group only (no root to confine further)")
    return run
