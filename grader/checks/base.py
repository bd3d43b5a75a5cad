"""What every check shares: the finding it returns, the context it reads, and how it registers.

A check is a function ``Context -> Finding`` decorated with ``@check("rubric.id")``; the registry
(``grader.checks.registry``) collects them, and the engine runs each on its own, so a check that
raises costs that check only. Work several checks need (reading the feed's tree, say) is done
once per grading through ``Context.memo``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from grader.golden import Expected
from grader.observations import FeedRecord, QueriesRecord
from grader.outputs import SinkRows


@dataclass
class Finding:
    """The outcome of one check: pass or fail, one summary line, and lines of detail.

    ``evidence`` lines quote the expected rows or values; feedback on a hidden dataset leaves
    them out (``Rubric.hidden_feedback``), ``details`` (what to fix) always stay.
    """

    passed: bool
    summary: str
    details: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    review: bool = False  # the grader could not judge this check: the instructor should look


@dataclass
class Context:
    """Everything a check may look at: the dataset, the records, the outputs, the expectation."""

    data_dir: Path
    start: datetime
    feed: FeedRecord
    queries: QueriesRecord
    read_sink: Callable[[str], SinkRows | None]  # a sink's rows; None when no step was replayed
    expected: Expected
    _memo: dict[str, Any] = field(default_factory=dict, repr=False)

    def sink(self, name: str) -> SinkRows | None:
        """``name``'s rows (``grader.contract.SINKS``), read when a check first asks. One sink is
        held at a time: asking for another lets the last go (at the original release's size the
        simple sinks are 39 MiB, held for nothing while the joined one is compared). The rubric
        lists each part's checks together, so each sink is read once."""
        key = f"sink:{name}"
        for held in [k for k in self._memo if k.startswith("sink:") and k != key]:
            del self._memo[held]
        return self.memo(key, lambda: self.read_sink(name))

    def memo(self, key: str, make: Callable[[], Any]) -> Any:
        """``make()``'s result, computed once per grading for every check that asks."""
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]


CheckFunction = Callable[[Context], Finding]
F = TypeVar("F", bound=CheckFunction)


def check(check_id: str) -> Callable[[F], F]:
    """Mark a function as the check behind rubric item ``check_id``."""

    def mark(function: F) -> F:
        function.check_id = check_id  # type: ignore[attr-defined]
        return function

    return mark


def clock(seconds: float) -> str:
    """Seconds since the start as the replay's wall clock (it starts at midnight UTC)."""
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    return f"{sign}{int(seconds // 3600):02d}:{int(seconds % 3600 // 60):02d}:{seconds % 60:06.3f}"


def short(route: object) -> str:
    return f"{str(route)[:8]}…" if isinstance(route, str) and len(route) > 8 else str(route)
