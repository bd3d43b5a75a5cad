"""Watching a child: its time, memory, process count and disk use, its output, and what it leaves behind.

A student's process that outlives the part is a leftover (killed, and told). The Spark JVM the
grader's own session started, and whatever that JVM forked, are not: the JVM winds down on its
own once the child's Python has gone, so it is never counted against the student.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import IO

import psutil

MARKER = "DSC650_GRADER_SANDBOX"  # set in every child's environment, with a token of its own
POLL_SECONDS = 0.2
DISK_POLL_SECONDS = 1.0  # a walk of the part's folders: a few ms for the reference's ~5,000 files
SPARK_JVM = "org.apache.spark.deploy.SparkSubmit"


class Capped:
    """Reads a pipe to the end, keeping the first ``cap`` bytes (the rest is read and dropped,
    so a child that prints without end never blocks on a full pipe)."""

    def __init__(self, pipe: IO[bytes], cap: int) -> None:
        self.kept = bytearray()
        self.dropped = 0
        self.thread = threading.Thread(target=self._read, args=(pipe, cap), daemon=True)
        self.thread.start()

    def _read(self, pipe: IO[bytes], cap: int) -> None:
        while chunk := pipe.read(65536):
            room = max(cap - len(self.kept), 0)
            self.kept += chunk[:room]
            self.dropped += max(len(chunk) - room, 0)

    def text(self) -> str:
        self.thread.join(timeout=5)
        return self.kept.decode("utf-8", "replace")


def in_spark_jvm(proc: psutil.Process) -> bool:
    """The grader's Spark JVM, or a process it forked (its ``chmod`` and ``readlink`` helpers)."""
    try:
        for each in (proc, *proc.parents()):
            if any(SPARK_JVM in arg for arg in each.cmdline()):
                return True
    except psutil.Error:
        return False
    return False


def leftovers(procs: list[psutil.Process]) -> int:
    """How many of ``procs`` (alive once the child's runner ended) the student's code left."""
    count = 0
    for proc in procs:
        try:
            # An empty command line is a process already exiting (its memory released, not yet a
            # zombie): the Spark JVM winding down after a replay of the original release's size
            # was counted as the student's, on a correct solution.
            if proc.status() != psutil.STATUS_ZOMBIE and proc.cmdline() and not in_spark_jvm(proc):
                count += 1
        except psutil.Error:
            continue
    return count


def marked(token: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get(MARKER) == token:
                found.append(proc)
        except (psutil.Error, OSError):
            continue
    return found


def stragglers(token: str, session: int, seen: dict[int, float], since: float) -> list[psutil.Process]:
    """An unconfined child's processes still alive: by marker, by session (started after
    ``since``, so not a reused id), or seen in its tree (same start time)."""
    found = {p.pid: p for p in marked(token)}
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


def kill(procs: list[psutil.Process]) -> None:
    """Kill ``procs`` (those already gone are skipped) and wait up to 5 s for them to die."""
    for proc in procs:
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(procs, timeout=5)


@dataclass(frozen=True)
class Disk:
    """Where a part may write, and how much: files (and folders) count against ``files``, their
    sizes against ``bytes``; ``uid``, where set, counts only what that user owns (shared ``/tmp``)."""

    roots: tuple[str, ...]
    bytes: int
    files: int
    shared: tuple[str, ...] = ()
    uid: int | None = None


def disk_usage(disk: Disk) -> tuple[int, int]:
    """(bytes, files) the part has written under its roots, and in the shared folders as its user."""
    total, count = 0, 0
    pending = [(root, None) for root in disk.roots] + [(root, disk.uid) for root in disk.shared if disk.uid is not None]
    while pending:
        folder, owner = pending.pop()
        try:
            entries = os.scandir(folder)
        except OSError:
            continue
        with entries:
            for entry in entries:
                try:
                    stat = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if owner is not None and stat.st_uid != owner:
                    continue
                count += 1
                total += stat.st_blocks * 512 if entry.is_file(follow_symlinks=False) else 0
                if entry.is_dir(follow_symlinks=False):
                    pending.append((entry.path, owner))
    return total, count


@dataclass
class Watched:
    """What the watchdog saw of one child."""

    killed: str | None = None  # "time", "memory", "processes", "disk-bytes" or "disk-files"
    peak_memory: int = 0  # bytes: the largest RSS sum of the process tree
    peak_processes: int = 0
    peak_disk: tuple[int, int] = (0, 0)  # (bytes, files) written, at the largest
    seen: dict[int, float] = field(default_factory=dict)  # pid -> start time, of every process of the tree


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


def watch(child: subprocess.Popen, seconds: float, memory_bytes: int, processes: int, disk: Disk | None = None) -> Watched:
    """Poll ``child`` until it exits or breaks a limit; then kill its whole process group."""
    began = time.monotonic()
    watched = Watched()
    parent = psutil.Process(child.pid)
    over = 0
    looked = began
    while child.poll() is None:
        time.sleep(POLL_SECONDS)
        if time.monotonic() - began > seconds:
            watched.killed = "time"
        else:
            tree, rss = _tree(parent)
            for proc in tree:
                try:
                    watched.seen.setdefault(proc.pid, proc.create_time())
                except psutil.Error:
                    pass
            watched.peak_memory = max(watched.peak_memory, rss)
            watched.peak_processes = max(watched.peak_processes, len(tree))
            over = over + 1 if rss > memory_bytes else 0  # two looks in a row: a JVM forking a helper counts twice
            if over >= 2:
                watched.killed = "memory"
            elif len(tree) > processes:
                watched.killed = "processes"
            elif disk is not None and time.monotonic() - looked >= DISK_POLL_SECONDS:
                looked = time.monotonic()
                used = disk_usage(disk)
                watched.peak_disk = max(watched.peak_disk, used)
                if used[0] > disk.bytes:
                    watched.killed = "disk-bytes"
                elif used[1] > disk.files:
                    watched.killed = "disk-files"
        if watched.killed:
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            break
    child.wait()
    return watched
