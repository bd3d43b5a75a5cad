"""What the sandboxed children left behind, parsed and validated as plain data.

The child is untrusted: every field is type-checked here, and a missing or malformed record is
turned into an explanation, never an exception in the grader.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.sandbox import ChildRun

MAX_LOG_BYTES = 64 * 2**20


def _scrub(text: str, work: Path) -> str:
    """Sandbox paths out of a message: feedback must be the same bytes on every run."""
    for folder, name in ((work / "feed" / "results", "results_dir"), (work / "queries" / "results", "results_dir"),
                         (work / "submission", "."), (work / "data", "data_dir"), (work, "<sandbox>")):
        text = text.replace(f"file:{folder}", name).replace(str(folder), name)
    return text


def _error(value: Any, work: Path) -> dict | None:
    if not isinstance(value, dict):
        return None
    where = value.get("where")
    return {
        "type": str(value.get("type", "Error"))[:200],
        "message": _scrub(str(value.get("message", ""))[:6000], work),
        "where": [str(w)[:300] for w in where[:5]] if isinstance(where, list) else [],
    }


def killed_sentence(run: ChildRun, limit_seconds: float) -> str | None:
    if run.killed == "time":
        return f"was stopped after {limit_seconds:g} s, the time limit for this part (an endless loop or a wait that never ends?)"
    if run.killed == "memory":
        return "was stopped: it used more memory than the limit allows"
    if run.killed == "processes":
        return "was stopped: it started more processes than the limit allows"
    return None


@dataclass
class FeedRecord:
    """Part 8.1: the feed's error, its clock, and its file events."""

    results: Path
    error: dict | None = None
    crashed: str | None = None  # why there is no record at all
    seconds: float = 0.0
    reads: int = 0
    sleeps: int = 0
    events: list[dict] = field(default_factory=list)


def read_feed(run: ChildRun, limit_seconds: float) -> FeedRecord:
    record = FeedRecord(results=run.work / "feed" / "results")
    path = run.work / "feed.json"
    killed = killed_sentence(run, limit_seconds)
    try:
        if path.stat().st_size > MAX_LOG_BYTES:
            raise ValueError("record too large")
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("record is not an object")
    except (OSError, ValueError):
        # The stderr tail is not quoted: it is a timestamped log line, different on every run.
        record.crashed = killed or f"ended (exit {run.returncode}) before reporting what it did"
        return record
    record.error = _error(data.get("error"), run.work)
    clock = data.get("clock") if isinstance(data.get("clock"), dict) else {}
    record.seconds = float(clock.get("seconds", 0) or 0)
    record.reads = int(clock.get("reads", 0) or 0)
    record.sleeps = int(clock.get("sleeps", 0) or 0)
    for event in data.get("events", []) if isinstance(data.get("events"), list) else []:
        if isinstance(event, dict) and event.get("op") in ("rename", "copy", "write", "mkdir") and isinstance(event.get("dst"), str):
            at = event.get("at")
            record.events.append({
                "op": event["op"],
                "src": event.get("src") if isinstance(event.get("src"), str) else None,
                "dst": event["dst"],
                "at": float(at) if isinstance(at, (int, float)) else None,
            })
    return record


@dataclass
class StepSeen:
    index: int
    step: str
    flush: bool
    gained: dict[str, list[str]]


@dataclass
class QueriesRecord:
    """Part 8.2: the steps replayed, the files each sink gained per step, and the errors."""

    observed: Path
    steps: list[StepSeen] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)  # {"stage", "error", "sink"}
    queries: list[dict] = field(default_factory=list)
    done: bool = False
    crashed: str | None = None
    fallback: list[str] = field(default_factory=list)  # parts the grader started itself


def read_queries(run: ChildRun, limit_seconds: float) -> QueriesRecord:
    record = QueriesRecord(observed=run.work / "observed")
    path = run.work / "queries.jsonl"
    lines: list[str] = []
    try:
        if path.stat().st_size <= MAX_LOG_BYTES:
            lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        pass
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        kind = event.get("event")
        if kind == "step" and isinstance(event.get("gained"), dict):
            gained = {
                str(sink): [str(f) for f in files if isinstance(f, str) and "/" not in f and not f.startswith(".")]
                for sink, files in event["gained"].items()
                if isinstance(files, list)
            }
            record.steps.append(StepSeen(int(event.get("index", len(record.steps))), str(event.get("step")), bool(event.get("flush")), gained))
            record.queries = [q for q in event.get("queries", []) if isinstance(q, dict)]
        elif kind == "started":
            record.queries = [q for q in event.get("queries", []) if isinstance(q, dict)]
        elif kind in ("import-failed", "start-failed", "query-failed", "spark-failed"):
            query = event.get("query") if isinstance(event.get("query"), dict) else {}
            record.errors.append({"stage": kind, "error": _error(event.get("error"), run.work) or {},
                                  "sink": _scrub(str(query.get("sink") or ""), run.work)})
        elif kind == "fallback" and isinstance(event.get("started"), list):
            record.fallback = [p for p in event["started"] if p in ("8.2a", "8.2b", "8.2c")]
        elif kind == "done":
            record.done = True
    killed = killed_sentence(run, limit_seconds)
    if not record.done:
        if killed:
            record.crashed = killed
        elif not any(e["stage"] in ("import-failed", "start-failed", "spark-failed") for e in record.errors):
            record.crashed = f"ended (exit {run.returncode}) before the replay finished"
    return record
