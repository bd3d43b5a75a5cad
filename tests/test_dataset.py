"""The dataset layout: steps in time order, restamping, hashing, and the generated fixtures."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from grader.dataset import KINDS, SCHEMAS, DatasetError, content_hash, list_steps, read_step, restamp
from grader.fixtures import DISORDER, NO_ACCELERATIONS, NO_LOCATIONS, STEP_SECONDS, generate
from grader.reference import BUNDLED_DATA

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_steps_sort_by_time_not_by_name(tmp_path: Path) -> None:
    for name in ("t=100.0", "t=009.5", "t=010.0"):
        (tmp_path / "accelerations" / name).mkdir(parents=True)
    (tmp_path / "locations" / "t=009.5").mkdir(parents=True)
    assert [s.name for s in list_steps(tmp_path)] == ["t=009.5", "t=010.0", "t=100.0"]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda root: (root / "accelerations").mkdir(), "no locations folder"),
        (lambda root: [(root / k).mkdir() for k in KINDS], "holds no t=SSS.S step folders"),
        (lambda root: [(root / k / "t=abc").mkdir(parents=True) for k in KINDS], "is not a t=SSS.S step folder"),
    ],
)
def test_foreign_layouts_are_named(tmp_path: Path, make, message: str) -> None:
    make(tmp_path)
    with pytest.raises(DatasetError, match=message):
        list_steps(tmp_path)


def test_restamp_adds_offset_to_start_in_microseconds() -> None:
    table = pa.Table.from_pylist(
        [{"timestamp": START, "offset": 0.822061}, {"timestamp": START, "offset": 121.4}],
        schema=pa.schema([("timestamp", pa.timestamp("us", tz="UTC")), ("offset", pa.float64())]),
    )
    stamped = restamp(table, START)["timestamp"].to_pylist()
    assert [(t - START).total_seconds() for t in stamped] == [0.822061, 121.4]
    assert restamp(table, START).schema.field("timestamp").type == pa.timestamp("us", tz="UTC")


def test_generator_is_deterministic_and_matches_the_committed_fixtures(tmp_path: Path) -> None:
    first, second = generate(tmp_path / "a", seed=0), generate(tmp_path / "b", seed=0)
    other = generate(tmp_path / "c", seed=1)
    assert content_hash(first) == content_hash(second) != content_hash(other)
    for step in list_steps(BUNDLED_DATA):
        for kind in KINDS:
            assert read_step(first, kind, step.name).equals(read_step(BUNDLED_DATA, kind, step.name)), (kind, step)


def test_fixture_has_the_shape_every_rule_needs() -> None:
    steps = list_steps(BUNDLED_DATA)
    assert [s.seconds for s in steps] == list(STEP_SECONDS)
    tables = {(k, s.name): read_step(BUNDLED_DATA, k, s.name).to_pylist() for s in steps for k in KINDS}
    routes_per_step = [{r["uuid"] for k in KINDS for r in tables[(k, s.name)]} for s in steps]
    first_seen = {u: min(i for i, rs in enumerate(routes_per_step) if u in rs) for u in set().union(*routes_per_step)}
    last_seen = {u: max(i for i, rs in enumerate(routes_per_step) if u in rs) for u in first_seen}
    assert len(set(first_seen.values())) > 1 and len(set(last_seen.values())) > 1, "routes start and stop at different steps"
    for kind, holes in (("locations", NO_LOCATIONS), ("accelerations", NO_ACCELERATIONS)):
        for _route, step in holes:
            other = "accelerations" if kind == "locations" else "locations"
            name = steps[step].name
            assert {r["uuid"] for r in tables[(other, name)]} - {r["uuid"] for r in tables[(kind, name)]}, (kind, name)
    locations = [r for s in steps for r in tables[("locations", s.name)]]
    accelerations = [r for s in steps for r in tables[("accelerations", s.name)]]
    assert any(r["speed"] == -1 for r in locations)
    assert any(r["id"] is None for r in accelerations) and any(r["id"] is None for r in locations)
    late = [(k, steps[s].seconds - o) for k, _, s, o in DISORDER]
    assert any(lag > 30 for _, lag in late), "a row later than the 30-second watermark"
    assert any(0 < lag < 30 for _, lag in late), "a row out of order within the watermark"


def test_fixture_files_have_the_real_schema() -> None:
    for kind in KINDS:
        for file in (BUNDLED_DATA / kind).glob("t=*/*.parquet"):
            assert pq.read_schema(file).remove_metadata().equals(SCHEMAS[kind]), file


def test_real_data_has_the_measured_layout(real_data: Path) -> None:
    steps = list_steps(real_data)
    assert len(steps) == 34 and steps[-1].name == "t=121.4"
    rows = {k: sum(read_step(real_data, k, s.name).num_rows for s in steps) for k in KINDS}
    assert rows == {"accelerations": 23_512, "locations": 478}
    for kind in KINDS:
        file = next((real_data / kind).glob("t=*/*.parquet"))
        assert pq.read_schema(file).remove_metadata().equals(SCHEMAS[kind])
