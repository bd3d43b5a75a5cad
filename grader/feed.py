"""Part 8.1, inside the sandbox: run the student's feed on the fake clock and record what it did.

An audit hook logs every rename, copy, Python-level write, new folder and removal under the
results folder with the fake time it happened at; the checks in the parent read that log and the
final folder tree (so a feed that clears an earlier run's files only at the end is seen to).
"""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path

import pyarrow.parquet as pq

from grader.clock import FeedClock, FeedOverrun, fake_clock
from grader.contract import STALE_FILES
from grader.dataset import SCHEMAS, list_steps
from grader.submission import describe_exception, load_module

MAX_EVENTS = 100_000
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def seed_stale_files(results: Path) -> None:
    for relative in STALE_FILES:
        path = results / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        kind = "accelerations" if "accelerations" in relative else "locations"
        pq.write_table(SCHEMAS[kind].empty_table(), path)


class FileLog:
    """Renames, copies, writes, new folders and removals under ``root``, stamped with fake seconds since the start.

    pyarrow and pandas write through native code, which raises no audit event; the folder a
    step is written into does (``os.makedirs``), so even a feed that writes straight into
    input can be timed.
    """

    def __init__(self, root: Path) -> None:
        self.root = os.path.realpath(root)
        self.events: list[dict] = []
        self.clock: FeedClock | None = None

    def _relative(self, path: object) -> str | None:
        try:
            full = os.path.realpath(os.path.abspath(os.fsdecode(os.fspath(path))))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None
        if full == self.root or full.startswith(self.root + os.sep):
            return os.path.relpath(full, self.root)
        return None

    def _add(self, event: dict) -> None:
        if len(self.events) < MAX_EVENTS:
            event["at"] = round(self.clock.seconds(), 6) if self.clock else None
            self.events.append(event)

    def hook(self, name: str, args: tuple) -> None:
        if name == "os.rename":
            src, dst = self._relative(args[0]), self._relative(args[1])
            if dst is not None:
                self._add({"op": "rename", "src": src, "dst": dst})
        elif name in ("os.remove", "os.rmdir", "shutil.rmtree") and len(args) >= 2 and args[1] is None:
            dst = self._relative(args[0])  # with a dir_fd the path is relative to that folder: not ours to read
            if dst is not None:
                self._add({"op": "remove", "dst": dst})
        elif name == "os.mkdir":
            dst = self._relative(args[0])
            if dst is not None:
                self._add({"op": "mkdir", "dst": dst})
        elif name == "shutil.copyfile":
            dst = self._relative(args[1])
            if dst is not None:
                self._add({"op": "copy", "src": self._relative(args[0]), "dst": dst})
        elif name == "open" and len(args) >= 3:
            path, mode, flags = args[0], args[1], args[2]
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & _WRITE_FLAGS
            )
            if writing and not isinstance(path, int):
                dst = self._relative(path)
                if dst is not None:
                    self._add({"op": "write", "dst": dst})


def run_feed(submission: Path, data_dir: Path, results: Path, start: datetime) -> dict:
    """Run ``stream_data.main(data_dir, results)``; return the plain-data record of the run."""
    seed_stale_files(results)
    steps = list_steps(data_dir)
    # Fake time costs nothing: room for a feed that sleeps t seconds after the previous step (the
    # sum of every t: 6,800 s at the original release's size), which is late (feed.timing says so)
    # but publishes every step; a feed that waits forever is still stopped.
    deadline = sum(step.seconds for step in steps) + 2 * steps[-1].seconds + 300
    log = FileLog(results)
    sys.addaudithook(log.hook)
    record: dict = {"error": None}
    try:
        with fake_clock(start, deadline) as clock:
            log.clock = clock
            try:
                module = load_module(submission, "stream_data")
                if not callable(getattr(module, "main", None)):
                    raise AttributeError("stream_data.py has no function main(data_dir, results_dir)")
                module.main(str(data_dir), str(results))
            except FeedOverrun as error:
                record["error"] = {"type": "FeedOverrun", "message": str(error), "where": []}
            except (Exception, SystemExit) as error:  # the student's error is a finding, not a crash
                record["error"] = describe_exception(error, submission)
            record["clock"] = {"seconds": round(clock.seconds(), 6), "reads": clock.reads, "sleeps": clock.sleeps}
    finally:
        log.clock = None
    record["events"] = log.events
    record["events_truncated"] = len(log.events) >= MAX_EVENTS
    return record


