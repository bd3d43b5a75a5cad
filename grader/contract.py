"""The assignment's contract in one place: its parameters, the names students write, the paths.

Standard library only, so every module (the sandboxed child and the grading parent alike) reads
it without pulling in anything else. An instructor who changes the assignment for a new term
changes the numbers here and in the reference solution; tests hold the reference, the README
and the fixtures to them.
"""

from __future__ import annotations

from datetime import datetime, timezone

# --- the assignment's parameters (8.2b, 8.2c) ------------------------------------------------
WINDOW_SECONDS = 15  # 8.2b: the length of a window
WATERMARK_SECONDS = 30  # 8.2b and 8.2c: how late a row may be
JOIN_BOUND_SECONDS = 1  # 8.2c: how far apart a joined acceleration and location may be
LATE_SECONDS = 60  # the fixtures' late rows arrive this long after their event time: past the watermark


def seconds(n: int) -> str:
    """Spark's interval string: ``seconds(30)`` is ``"30 seconds"``."""
    return f"{n} second{'' if n == 1 else 's'}"


WINDOW = seconds(WINDOW_SECONDS)
WATERMARK = seconds(WATERMARK_SECONDS)
_BOUND = f"INTERVAL {JOIN_BOUND_SECONDS} SECOND{'' if JOIN_BOUND_SECONDS == 1 else 'S'}"
JOIN_CONDITION = f"loc_timestamp BETWEEN acc_timestamp - {_BOUND} AND acc_timestamp + {_BOUND}"

# --- what a submission holds and what it writes ----------------------------------------------
KINDS = ("accelerations", "locations")
CONTRACT_FILES = ("stream_data.py", "stream_queries.py")
PARTS = ("8.1", "8.2a", "8.2b", "8.2c")
FEED_PART = PARTS[0]  # judged from the feed's record alone, while the queries still run
QUERY_FUNCTIONS = ("read_accelerations", "read_locations", "windowed_speed", "join_streams", "start_queries")

# Each 8.2 sink: where it writes under results_dir, its part, and the functions its query is built from.
SINKS = {
    "simple-accelerations": "output/simple/accelerations",
    "simple-locations": "output/simple/locations",
    "windowed": "output/windowed",
    "joined": "output/stream-joined",
}
SINK_PARTS = {"simple-accelerations": "8.2a", "simple-locations": "8.2a", "windowed": "8.2b", "joined": "8.2c"}
SINK_FUNCTIONS = {
    "simple-accelerations": ("read_accelerations",),
    "simple-locations": ("read_locations",),
    "windowed": ("read_locations", "windowed_speed"),
    "joined": ("read_accelerations", "read_locations", "join_streams"),
}

# --- the replay ------------------------------------------------------------------------------
START = datetime(2026, 1, 1, tzinfo=timezone.utc)  # the replay clock's start: windows align to it
FLUSH_ROUTE = "__flush__"  # the end-of-stream rows' route, removed before comparison
FLUSH_DELAY = 3600.0  # seconds after the last step: far beyond any watermark or window
# Left in the feed's results folder "by an earlier run": a correct feed removes them first.
STALE_FILES = (
    "stream/input/accelerations/t=999.9/stale.parquet",
    "stream/staging/locations/t=999.9/stale.parquet",
)

# --- the sandbox's work folder ---------------------------------------------------------------
# What each part's child leaves there. A part's outputs are emptied before it runs and are out of
# the other part's reach, so neither can plant or rewrite the other's.
OUTPUTS: dict[str, tuple[str, ...]] = {
    "feed": ("feed.json", "feed"),
    "queries": ("queries.jsonl", "queries", "observed", "spark"),
}
