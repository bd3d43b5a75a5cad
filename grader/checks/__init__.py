"""One module per graded concern; each turns a run's record into findings for its rubric ids."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from grader.golden import Expected
from grader.observations import FeedRecord, QueriesRecord
from grader.outputs import Outputs


@dataclass
class Finding:
    """The outcome of one check: pass or fail, one summary line, a few lines of detail."""

    passed: bool
    summary: str
    details: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Context:
    """Everything a check may look at: the dataset, the records, the outputs, the expectation."""

    data_dir: Path
    start: datetime
    feed: FeedRecord
    queries: QueriesRecord
    outputs: Outputs | None
    expected: Expected
    routes: dict[str, str]


def clock(seconds: float) -> str:
    """Seconds since the start as the replay's wall clock (it starts at midnight UTC)."""
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    return f"{sign}{int(seconds // 3600):02d}:{int(seconds % 3600 // 60):02d}:{seconds % 60:06.3f}"


def short(route: object) -> str:
    return f"{str(route)[:8]}…" if isinstance(route, str) and len(route) > 8 else str(route)


CHECK_IDS = {
    "feed.cleanup", "feed.layout", "feed.rows", "feed.timestamp", "feed.timing", "feed.staging",
    "simple.accelerations", "simple.locations", "windowed.final", "windowed.updates",
    "joined.matched", "joined.unmatched",
}  # fmt: skip
