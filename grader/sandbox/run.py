"""One part of one submission, in a child of its own: confined, watched, and accounted for.

The child (``python -m grader.runner SPEC``) works in the staged work folder
(``grader.sandbox.workdir``), confined as this machine allows (``grader.sandbox.isolation``),
under the limits below. It leaves plain JSON and parquet; the grader never imports or unpickles
what it wrote. ``run_part`` never raises for the student's faults (a ``SandboxError`` means the
sandbox itself could not be set up).
"""

from __future__ import annotations

import os
import resource
import secrets
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from grader import paths
from grader.contract import OUTPUTS
from grader.sandbox import users, watchdog
from grader.sandbox.isolation import Isolation, child_env, namespace_prefix, user_prefix
from grader.sandbox.users import SandboxError, Slot
from grader.sandbox.workdir import PACKED

# Measured on the reference with -Xmx1g (local[2], 4 queries): the JVM peaks at 4.5 GiB VSZ,
# 1.8 GiB VmData (mostly 4 MiB thread stacks x ~280 threads) and 0.6 GiB RSS; the Python driver
# and the feed at 1.9 / 1.6 GiB VSZ, 1.2 GiB VmData, 0.14 GiB RSS. RLIMIT_AS would have to sit above
# the JVM's reservations and so would catch nothing; RLIMIT_DATA counts only private writable
# memory, so a per-process cap of max(limit, this floor) leaves Spark room and stops one large
# allocation at once (the watchdog, polling, stops a slow climb).
DATA_FLOOR = 3 * 2**30
TASKS_PER_USER = 2048  # RLIMIT_NPROC for a sandbox user: threads count too (the JVM runs ~280)


@dataclass(frozen=True)
class Limits:
    """Per-part limits. The two parts run at once, so their memory limits add up: 0.75 + 2.25 GiB
    and the grader's own ~0.2 GiB fit the 4 GB container the README recommends for Gradescope.
    Measured peaks of the reference (RSS of the whole tree): the feed 0.17 GiB, the queries 1.1 GiB
    on the bundled fixtures and 1.5 GiB on the course's real data."""

    part_seconds: float = 300.0
    start_seconds: float = 30.0  # how long start_queries may take to return the queries it started
    feed_memory_bytes: int = 3 * 2**28  # 0.75 GiB
    queries_memory_bytes: int = 9 * 2**28  # 2.25 GiB
    file_bytes: int = 2 * 2**30  # one file (RLIMIT_FSIZE)
    disk_bytes: int = 2 * 2**30  # all a part writes, wherever it can (the reference: 0.1 GiB on the original release's size)
    disk_files: int = 100_000  # files and folders a part makes (the reference: ~14,000 there)
    processes: int = 64
    output_bytes: int = 64 * 2**10

    def memory_bytes(self, part: str) -> int:
        return self.feed_memory_bytes if part == "feed" else self.queries_memory_bytes


@dataclass
class ChildRun:
    """How one child ended: plain facts for the checks and the feedback."""

    part: str
    work: Path
    isolation: str = "unconfined"  # the mode it really ran in (grader.sandbox.isolation.MODES)
    returncode: int | None = None
    killed: str | None = None  # "time", "memory", "processes", "disk-bytes", "disk-files": the watchdog stopped it
    seconds: float = 0.0
    stdout: str = ""
    stderr: str = ""
    output_dropped: int = 0
    leftovers: int = 0  # processes the student's code left running when the part ended (all killed)
    peak_memory: int = 0  # bytes: the largest RSS sum of the process tree the watchdog saw
    peak_processes: int = 0
    peak_disk: tuple[int, int] = (0, 0)  # (bytes, files) the part wrote, at the largest the watchdog saw
    token: str = ""  # the value of watchdog.MARKER in the child's environment
    notes: list[str] = field(default_factory=list)

    @property
    def confined(self) -> bool:
        return self.isolation != "unconfined"


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


def _protected(work: Path, part: str) -> list[Path]:
    """What the child must not write inside its work folder: the copies, the specs, the other part's outputs."""
    others = [work / name for other, names in OUTPUTS.items() if other != part for name in names]
    copies = [work / "submission", work / "data", *([work / PACKED] if (work / PACKED).is_dir() else [])]
    return [*copies, *(work / f"{name}.spec.json" for name in OUTPUTS), *others]


def run_part(part: str, work: Path, isolation: Isolation, limits: Limits, slot: Slot | None = None,
             hidden: list[Path] | None = None) -> ChildRun:
    """Run ``part`` ("feed" or "queries"), staged in ``work``, in a fresh child.

    ``hidden`` paths (the goldens...) cannot be read by the child, as far as ``isolation`` allows;
    ``slot`` holds the sandbox users when ``isolation`` is ``sandbox-user``.
    """
    work = Path(work)
    token = secrets.token_hex(8)
    home, tmp = work / "home" / part, work / "tmp" / part
    env = {**child_env(home, tmp), watchdog.MARKER: token}
    memory = limits.memory_bytes(part)
    data_limit = max(memory, DATA_FLOOR)
    uid = slot.uids[part] if slot is not None and isolation.mode == "sandbox-user" else None
    if isolation.mode == "sandbox-user" and uid is None:
        raise SandboxError("the sandbox-user isolation needs a slot of sandbox users")

    def limit_child() -> None:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
        resource.setrlimit(resource.RLIMIT_DATA, (data_limit, data_limit))
        if uid is not None:  # a user of its own: its task count is the child's alone
            resource.setrlimit(resource.RLIMIT_NPROC, (TASKS_PER_USER, TASKS_PER_USER))

    namespaced = isolation.mode in ("namespaces", "user-namespaces")
    if namespaced:
        prefix = namespace_prefix(isolation.mode == "user-namespaces", _protected(work, part), hidden or [], [work])
    elif uid is not None and slot is not None:
        prefix = user_prefix(uid, slot.gid)
    else:
        prefix = []
    run = ChildRun(part=part, work=work, token=token, isolation=isolation.mode)
    status_read, status_write = os.pipe() if namespaced else (None, None)
    began, wall = time.monotonic(), time.time()
    try:
        child = subprocess.Popen(
            # -P: the work folder (cwd) must not shadow the grader's modules
            [*prefix, paths.PYTHON, "-P", "-m", "grader.runner", str(work / f"{part}.spec.json")],
            cwd=work, env=env, stdin=status_write if namespaced else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, preexec_fn=limit_child,
        )  # fmt: skip
    except BaseException:
        if status_read is not None:
            os.close(status_read)
        raise
    finally:
        if status_write is not None:
            os.close(status_write)
    status_thread, status = _status_reader(status_read) if status_read is not None else (None, [])
    out, err = watchdog.Capped(child.stdout, limits.output_bytes), watchdog.Capped(child.stderr, limits.output_bytes)  # type: ignore[arg-type]
    watched = watchdog.Watched()
    disk = watchdog.Disk(roots=tuple(str(work / name) for name in (*OUTPUTS[part], f"home/{part}", f"tmp/{part}")),
                         bytes=limits.disk_bytes, files=limits.disk_files, shared=tuple(map(str, users.SHARED_TMP)), uid=uid)
    try:
        watched = watchdog.watch(child, limits.part_seconds, memory, limits.processes, disk)
    finally:
        if uid is not None:
            run.leftovers = watchdog.leftovers(users.processes_of(uid))
            users.kill_user(uid)
            users.sweep(uid)
        else:  # confined in namespaces, the status pipe counts them; the kernel kills them all anyway
            strays = watchdog.stragglers(token, child.pid, watched.seen, wall)
            if not namespaced:
                run.leftovers = watchdog.leftovers(strays)
            watchdog.kill(strays)
        if child.poll() is None:
            child.kill()
            child.wait()
    run.killed, run.peak_memory, run.peak_processes = watched.killed, watched.peak_memory, watched.peak_processes
    run.peak_disk = watched.peak_disk
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
    if run.leftovers and not run.killed:
        run.notes.append(f"{part}: {run.leftovers} process(es) your code started were still running when this part "
                         "ended; the grader stopped them (start no background processes, or wait for them)")
    if run.killed == "memory":
        run.notes.append(f"{part}: stopped at {run.peak_memory / 2**30:.1f} GiB of memory; the limit is {memory / 2**30:g} GiB")
    elif run.killed == "processes":
        run.notes.append(f"{part}: stopped with {run.peak_processes} processes running; the limit is {limits.processes}")
    elif run.killed == "disk-bytes":
        run.notes.append(f"{part}: stopped after writing {run.peak_disk[0] / 2**30:.1f} GiB of files; the limit is {limits.disk_bytes / 2**30:g} GiB")
    elif run.killed == "disk-files":
        run.notes.append(f"{part}: stopped after creating {run.peak_disk[1]:,} files and folders; the limit is {limits.disk_files:,}")
    return run
