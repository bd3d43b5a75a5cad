"""The reference solution on generated and on the real data (issue: reference and contract)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from grader.dataset import KINDS, list_steps, read_step
from grader.paths import REFERENCE

FEED = REFERENCE / "stream_data.py"


def run_feed(data_dir: Path, results: Path, speed: float) -> None:
    done = subprocess.run(
        [sys.executable, str(FEED), "--data-dir", str(data_dir), "--results-dir", str(results), "--speed", str(speed)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def assert_input_tree(data_dir: Path, results: Path) -> None:
    """Every step of both kinds in input, the data's rows, one start instant, staging empty."""
    starts = set()
    for step in list_steps(data_dir):
        for kind in KINDS:
            folder = results / "stream" / "input" / kind / step.name
            got = pq.read_table(folder, partitioning=None).sort_by([("uuid", "ascending"), ("offset", "ascending")])
            want = read_step(data_dir, kind, step.name).sort_by([("uuid", "ascending"), ("offset", "ascending")])
            assert got.schema.field("timestamp").type == want.schema.field("timestamp").type  # us, UTC
            assert got.drop(["timestamp"]).equals(want.drop(["timestamp"])), folder
            for stamp, offset in zip(got["timestamp"].to_pylist(), got["offset"].to_pylist()):
                delta = stamp.timestamp() * 1_000_000 - round(offset * 1_000_000)
                starts.add(round(delta))
    assert max(starts) - min(starts) <= 1, "timestamp - offset is one instant for every row"
    assert not [p for p in (results / "stream" / "staging").rglob("*") if p.is_file()], "staging ends empty"


def test_feed_on_generated_data(fixture_data: Path, tmp_path: Path) -> None:
    stale = tmp_path / "stream" / "input" / "accelerations" / "t=999.9" / "old.parquet"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"left by an earlier run")
    run_feed(fixture_data, tmp_path, speed=1000)
    assert not stale.exists()
    assert_input_tree(fixture_data, tmp_path)


@pytest.mark.realdata
def test_feed_on_real_data(real_data: Path, tmp_path: Path) -> None:
    run_feed(real_data, tmp_path, speed=40)
    assert len(list((tmp_path / "stream" / "input" / "accelerations").iterdir())) == 34
    assert len(list((tmp_path / "stream" / "input" / "locations").iterdir())) == 34
    assert_input_tree(real_data, tmp_path)


def _queries_on(spark, data_dir: Path, results: Path) -> dict[str, int]:
    """Run the reference's start_queries on a filled input tree; read every output back."""
    sys.path.insert(0, str(REFERENCE))
    try:
        import stream_queries
    finally:
        sys.path.remove(str(REFERENCE))
    run_feed(data_dir, results, speed=10_000)
    queries = stream_queries.start_queries(spark, results)
    assert len(queries) == 4
    for query in queries:
        query.processAllAvailable()
    for query in queries:
        query.stop()
    outputs = {
        name: spark.read.parquet(str(results / "output" / name))
        for name in ("simple/accelerations", "simple/locations", "windowed", "stream-joined")
    }
    for name, frame in outputs.items():
        assert len(set(frame.columns)) == len(frame.columns), f"{name} has duplicate column names"
    joined = outputs["stream-joined"]
    assert {"acc_uuid", "loc_uuid", "acc_timestamp", "loc_timestamp"} <= set(joined.columns)
    assert {"window_start", "window_end", "uuid", "mean_speed"} <= set(outputs["windowed"].columns)
    return {name: frame.count() for name, frame in outputs.items()}


@pytest.mark.spark
def test_queries_write_three_readable_outputs(spark, fixture_data: Path, tmp_path: Path) -> None:
    counts = _queries_on(spark, fixture_data, tmp_path)
    for kind in KINDS:
        assert counts[f"simple/{kind}"] == sum(read_step(fixture_data, kind, s.name).num_rows for s in list_steps(fixture_data))
    assert counts["windowed"] > 0 and counts["stream-joined"] > 0


@pytest.mark.spark
@pytest.mark.realdata
def test_queries_on_real_data(spark, real_data: Path, tmp_path: Path) -> None:
    counts = _queries_on(spark, real_data, tmp_path)
    assert counts["simple/accelerations"] == 23_512 and counts["simple/locations"] == 478
    assert counts["windowed"] > 0 and counts["stream-joined"] > 0
