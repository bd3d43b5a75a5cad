"""Stable labels for the checks' diagnoses, so a class report can count the same mistake across
students whatever the numbers and routes in each one's hint line.

The hint lines stay where they are written (each check module); this table only recognises
them. A label is short and never changes once used: reports and gradebooks of earlier terms
count by it. ``tests/test_diagnoses.py`` holds every advice line the checks can write to a label.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# (label, pattern on one hint line): the first that matches wins, so specific ones come first.
LABELS: list[tuple[str, re.Pattern[str]]] = [(label, re.compile(pattern)) for label, pattern in [
    # 8.2b, the windowed query
    ("grouped by an extra column", r"several rows for one window and route"),
    ("window length", r"Your windows are .* long"),
    ("complete mode", r"Complete mode keeps every window|that is complete mode"),
    ("append mode", r"that is append mode"),
    ("late rows counted", r"after the watermark had passed the window|row later than the watermark|later than the watermark are dropped"),
    ("speed -1 rows dropped", r"out rows with speed = -1"),
    ("window values differ", r"The windows' values differ too"),
    # 8.2c, the join
    ("inner join", r"an inner join\?"),
    ("one-sided outer join", r"a one-sided outer join\?"),
    ("join time bound", r"pairs are more than .* apart|paired with rows further away"),
    ("join condition or watermarks", r"check the join condition and both watermarks"),
    # 8.2a, the simple sinks
    ("rows written twice", r"Every row appears more than once"),
    # every 8.2 part: why a query wrote nothing
    ("start_queries waits", r"start_queries had not returned"),
    ("trigger stops the query", r"stopped early without an error"),
    ("sink not started", r"none of them writes to"),
    ("wrong input or output folder", r"does it read results_dir/stream/input"),
    ("import error", r"could not be imported"),
    ("start_queries raised", r"^start_queries raised"),
    ("query failed", r"^a query stopped with an error"),
    ("Spark could not start", r"^Spark could not start"),
    ("queries crashed", r"^Your queries "),
    ("missing column", r"^no column for "),
    ("column type", r" holds .*; write "),
    # 8.1, the feed
    ("stale files kept", r"before the first step\.$|Files from an earlier run|after the first step was written"),
    ("copied, not moved", r"move it with os\.rename|rather than copying it|copied into input, not moved"),
    ("nanosecond timestamps", r"nanosecond timestamps|which Spark 4 cannot read"),
    ("naive timestamps", r"without a time zone"),
    ("stored timestamp kept", r"The stored timestamp.* means nothing here"),
    ("start taken per step", r"start instant is taken anew|Take the start instant once"),
    ("timestamp is not start + offset", r"That is the offset alone|Set timestamp = start \+ offset"),
    ("feed crashed", r"^Your feed "),
]]  # fmt: skip


def label(line: str) -> str | None:
    """The label of one hint line, or None when it names no known mistake."""
    return next((name for name, pattern in LABELS if pattern.search(line)), None)


def labels(lines: Iterable[str]) -> list[str]:
    """The distinct labels of a failing check's lines (summary, evidence, details), in order."""
    return list(dict.fromkeys(found for line in lines if (found := label(line))))
