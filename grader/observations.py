"""What the sandboxed children left behind, parsed and validated as plain data.

The children run student code and can write these records themselves, so every field is
checked here, one by one: a missing, malformed or hostile record becomes an explanation in the
feedback, never an exception in the grader.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from grader.contract import PARTS, SINK_PARTS, SINKS
from grader.sandbox.run import ChildRun

MAX_LOG_BYTES = 64 * 2**20
FEED_OPS = ("rename", "copy", "write", "mkdir", "remove")
QUERY_STAGES = ("import-failed", "start-failed", "query-failed", "spark-failed")


def text(value: Any, limit: int = 300) -> str:
    return value[:limit] if isinstance(value, str) else ""


def number(value: Any) -> float | None:
    """A finite number, or None (a bool, a string or NaN is not one)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**53 else 0


def texts(value: Any, limit: int = 300, most: int = 50) -> list[str]:
    return [item[:limit] for item in value[:most] if isinstance(item, str)] if isinstance(value, list) else []


def _scrub(message: str, work: Path) -> str:
    """Sandbox paths out of a message: feedback must be the same bytes on every run."""
    for folder, name in ((work / "feed" / "results", "results_dir"), (work / "queries" / "results", "results_dir"),
                         (work / "submission", "."), (work / "data", "data_dir"), (work, "<sandbox>")):
        message = message.replace(f"file:{folder}", name).replace(str(folder), name)
    return message


def error_of(value: Any, work: Path) -> dict | None:
    if not isinstance(value, dict):
        return None
    return {"type": text(value.get("type"), 200) or "Error", "message": _scrub(text(value.get("message"), 6000), work),
            "where": [_scrub(w, work) for w in texts(value.get("where"), most=5)]}


def relative_file(value: Any) -> str | None:
    """A file a sink gained, relative to its observation folder: no way out of it, nothing hidden."""
    if not isinstance(value, str) or not value or len(value) > 1000 or "\\" in value or "\0" in value:
        return None
    path = PurePosixPath(value)
    if path.is_absolute() or any(part in ("", ".", "..") or part.startswith(".") for part in value.split("/")):
        return None
    return value


def read_json_file(path: Path) -> Any:
    """The JSON a child wrote, or None when it is missing, too large or not JSON."""
    try:
        if path.is_symlink() or path.stat().st_size > MAX_LOG_BYTES:
            return None
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None


def killed_sentence(run: ChildRun, limit_seconds: float) -> str | None:
    """How the watchdog stopped the child, as the end of "Your feed ..." or "Your queries ..."."""
    if run.killed == "time":
        return f"stopped after {limit_seconds:g} s, the time limit for this part (an endless loop, or a wait that never ends?)"
    if run.killed == "memory":
        return "stopped: it used more memory than the limit allows"
    if run.killed == "processes":
        return "stopped: it started more processes than the limit allows"
    if run.killed == "disk-bytes":
        return "stopped: it wrote more bytes of files than the limit allows (a loop that writes without end?)"
    if run.killed == "disk-files":
        return "stopped: it created more files than the limit allows (a loop that creates files without end?)"
    return None


@dataclass
class FeedRecord:
    """Part 8.1: the feed's error, its clock, and its file events."""

    results: Path
    error: dict | None = None
    crashed: str | None = None  # why there is no record at all: "Your feed " + this
    seconds: float = 0.0
    reads: int = 0
    sleeps: int = 0
    events: list[dict] = field(default_factory=list)


def _event(value: Any) -> dict | None:
    if not isinstance(value, dict) or value.get("op") not in FEED_OPS or not text(value.get("dst"), 1000):
        return None
    src = value.get("src")
    return {"op": value["op"], "src": src[:1000] if isinstance(src, str) else None, "dst": value["dst"][:1000],
            "at": number(value.get("at"))}


def read_feed(run: ChildRun, limit_seconds: float) -> FeedRecord:
    record = FeedRecord(results=run.work / "feed" / "results")
    data = read_json_file(run.work / "feed.json")
    if not isinstance(data, dict):
        # The stderr tail is not quoted: it is a timestamped log line, different on every run.
        record.crashed = (f"was {killed}" if (killed := killed_sentence(run, limit_seconds))
                          else f"ended (exit {run.returncode}) before reporting what it did")
        return record
    record.error = error_of(data.get("error"), run.work)
    clock = data.get("clock") if isinstance(data.get("clock"), dict) else {}
    record.seconds = number(clock.get("seconds")) or 0.0
    record.reads, record.sleeps = count(clock.get("reads")), count(clock.get("sleeps"))
    events = data.get("events") if isinstance(data.get("events"), list) else []
    record.events = [e for e in map(_event, events) if e is not None]
    return record


@dataclass
class StepSeen:
    index: int
    step: str
    flush: bool
    gained: dict[str, list[str]]  # sink -> files it gained, relative to observed/<sink>/<index:03d>


@dataclass
class QueriesRecord:
    """Part 8.2: the steps replayed, the files each sink gained per step, and what went wrong."""

    observed: Path
    steps: list[StepSeen] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)  # {"stage", "error", "sink", "sinks"}
    queries: list[dict] = field(default_factory=list)
    done: bool = False
    crashed: str | None = None  # "Your queries " + this
    fallback: list[str] = field(default_factory=list)  # sinks the grader started itself
    blocked: float | None = None  # start_queries had not returned after this many seconds
    overrides: list[str] = field(default_factory=list)  # speed-only settings the grader undid, as sentences
    ended: list[dict] = field(default_factory=list)  # queries that stopped early without an error: {"sink", "trigger"}


def _sinks(value: Any) -> list[str]:
    return [s for s in texts(value) if s in SINKS]


def _query(value: Any, work: Path) -> dict:
    query = value if isinstance(value, dict) else {}
    return {"sink": _scrub(text(query.get("sink")), work), "sinks": _sinks(query.get("sinks")),
            "trigger": text(query.get("trigger"), 100), "batches": count(query.get("batches"))}


def read_queries(run: ChildRun, limit_seconds: float) -> QueriesRecord:
    record = QueriesRecord(observed=run.work / "observed")
    path = run.work / "queries.jsonl"
    lines: list[str] = []
    try:
        if not path.is_symlink() and path.stat().st_size <= MAX_LOG_BYTES:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        pass
    for line in lines:
        try:
            event = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(event, dict):
            _read_event(record, event, run.work)
    killed = killed_sentence(run, limit_seconds)
    if not record.done:
        if killed:
            record.crashed = f"were {killed}"
        elif not any(e["stage"] in ("import-failed", "start-failed", "spark-failed") for e in record.errors) \
                and record.blocked is None:
            record.crashed = f"ended (exit {run.returncode}) before the replay finished"
    return record


def _read_event(record: QueriesRecord, event: dict, work: Path) -> None:
    kind = event.get("event")
    if kind == "step" and isinstance(event.get("gained"), dict):
        gained = {sink: [f for f in map(relative_file, files) if f] for sink, files in event["gained"].items()
                  if sink in SINKS and isinstance(files, list)}
        index = count(event.get("index"))
        step = text(event.get("step"), 40)  # a replay step's label: t=012.3, or t=012.3-t=019.9
        if re.fullmatch(r"t=\d+(\.\d+)?(-t=\d+(\.\d+)?)?", step) and (not record.steps or index > record.steps[-1].index):
            record.steps.append(StepSeen(index, step, event.get("flush") is True, gained))
        if isinstance(event.get("queries"), list):
            record.queries = [_query(q, work) for q in event["queries"][:50]]
    elif kind == "started" and isinstance(event.get("queries"), list):
        record.queries = [_query(q, work) for q in event["queries"][:50]]
    elif kind in QUERY_STAGES:
        query = _query(event.get("query"), work)
        record.errors.append({"stage": kind, "error": error_of(event.get("error"), work) or {"type": "Error", "message": "", "where": []},
                              "sink": query["sink"], "sinks": _sinks(event.get("sinks")) or query["sinks"]})
    elif kind == "fallback":
        record.fallback = _sinks(event.get("started"))
    elif kind == "start-blocked":
        record.blocked = number(event.get("seconds"))
    elif kind == "overrides":
        record.overrides = list(dict.fromkeys(texts(event.get("notes"), 500, 10)))
    elif kind == "query-ended":
        query = _query(event.get("query"), work)
        record.ended.append({"sink": query["sink"], "sinks": query["sinks"], "trigger": query["trigger"]})
    elif kind == "done":
        record.done = True


def parts_of(sinks: list[str]) -> set[str]:
    return {SINK_PARTS[s] for s in sinks if s in SINK_PARTS} & set(PARTS)
