"""The children's records are read field by field and never raise, whatever a child wrote (no JVM).

The records are written by processes that run student code, so they are fuzzed: valid records with
fields replaced by values of every JSON type, odd strings and numbers, truncated lines and junk.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest

from grader.observations import read_feed, read_queries, relative_file
from grader.sandbox.run import ChildRun

FEED = {
    "error": {"type": "ValueError", "message": "bad", "where": ["stream_data.py:3 in main"]},
    "clock": {"seconds": 63.5, "reads": 12, "sleeps": 7},
    "events": [{"op": "rename", "src": "stream/staging/locations/t=000.0", "dst": "stream/input/locations/t=000.0", "at": 0.0},
               {"op": "remove", "dst": "stream/input", "at": 0.0}],
}
QUERIES = [
    {"event": "overrides", "notes": ["`.trigger(processingTime='5 seconds')`: ..."]},
    {"event": "started", "queries": [{"id": "q", "sink": "FileSink[x]", "sinks": ["joined"], "trigger": "", "batches": 1}]},
    {"event": "start-failed", "error": {"type": "AnalysisException", "message": "m", "where": []}, "sinks": ["windowed"]},
    {"event": "fallback", "started": ["simple-accelerations", "joined", "elsewhere"]},
    {"event": "start-blocked", "seconds": 30.0, "started": 4},
    {"event": "query-ended", "query": {"sink": "FileSink", "sinks": ["simple-locations"], "trigger": "availableNow=True"}},
    {"event": "step", "index": 0, "step": "t=000.0", "flush": False,
     "gained": {"joined": ["part-0.parquet", "uuid=a/part-1.parquet", "../escape.parquet", "/abs.parquet", ".hidden"]}},
    {"event": "done"},
]
ODD = [None, True, False, 0, -1, 2**70, 1.5, math.nan, math.inf, "", "x" * 10_000, "\u0000\u202e../", [], {}, [None, [{}]],
       {"type": None, "message": 5}, ["a"] * 10_000]


def child(tmp_path: Path) -> ChildRun:
    return ChildRun(part="feed", work=tmp_path, returncode=1)


def _mutate(value: object, rng: random.Random, depth: int = 0) -> object:
    """``value`` with some fields, items or the whole replaced by odd values, at any depth."""
    if rng.random() < 0.15 or depth > 4:
        return rng.choice(ODD)
    if isinstance(value, dict):
        return {k: _mutate(v, rng, depth + 1) for k, v in value.items() if rng.random() > 0.1}
    if isinstance(value, list):
        return [_mutate(v, rng, depth + 1) for v in value if rng.random() > 0.1]
    return value


def test_valid_records_are_read_in_full(tmp_path: Path) -> None:
    (tmp_path / "feed.json").write_text(json.dumps(FEED))
    (tmp_path / "queries.jsonl").write_text("".join(json.dumps(e) + "\n" for e in QUERIES))
    feed = read_feed(child(tmp_path), 300)
    assert feed.crashed is None and feed.error and feed.error["type"] == "ValueError" and feed.sleeps == 7
    assert [e["op"] for e in feed.events] == ["rename", "remove"]
    queries = read_queries(child(tmp_path), 300)
    assert queries.done and queries.blocked == 30.0 and queries.fallback == ["simple-accelerations", "joined"]
    assert queries.overrides and queries.ended == [{"sink": "FileSink", "sinks": ["simple-locations"], "trigger": "availableNow=True"}]
    assert queries.errors[0]["sinks"] == ["windowed"] and queries.queries[0]["sinks"] == ["joined"]
    assert queries.steps[0].gained == {"joined": ["part-0.parquet", "uuid=a/part-1.parquet"]}


@pytest.mark.parametrize("value", ["../x", "/x", "a/../b", ".x", "a/.b", "a//b", "a\\b", "", "a\0b", 5, None])
def test_a_file_a_sink_gained_stays_inside_its_folder(value: object) -> None:
    assert relative_file(value) is None


@pytest.mark.parametrize("seed", range(40))
def test_malformed_records_never_raise(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    feed = _mutate(FEED, rng)
    (tmp_path / "feed.json").write_text(json.dumps(feed) if rng.random() > 0.1 else json.dumps(feed)[: rng.randrange(50)])
    lines = [json.dumps(_mutate(e, rng)) for e in QUERIES]
    lines.insert(rng.randrange(len(lines)), rng.choice(['{"event": "step"', "[]", "null", "\x00\x01", '"done"']))
    (tmp_path / "queries.jsonl").write_text("\n".join(lines) + "\n")
    record = read_feed(child(tmp_path), 300)
    assert record.crashed or isinstance(record.events, list)
    assert all(isinstance(e["dst"], str) and (e["at"] is None or math.isfinite(e["at"])) for e in record.events)
    queries = read_queries(child(tmp_path), 300)
    for step in queries.steps:
        assert all(relative_file(f) == f for files in step.gained.values() for f in files)
    for error in queries.errors:
        assert isinstance(error["error"]["message"], str) and isinstance(error["sinks"], list)


def test_a_record_that_is_a_symbolic_link_is_not_followed(tmp_path: Path) -> None:
    (tmp_path / "secret.json").write_text(json.dumps(FEED))
    (tmp_path / "feed.json").symlink_to(tmp_path / "secret.json")
    assert read_feed(child(tmp_path), 300).crashed
