"""The row comparisons and the reader under them, without Spark's JVM: what pairs, what differs,
and how parquet values become the plain rows feedback shows. Every pairing case runs through both
comparisons, the rows one (the small windowed outputs) and the vectorised tables one (the rest),
so the two cannot drift apart."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from grader.compare.rows import RowDiff, compare_rows
from grader.compare.tables import compare_tables, table_ids
from grader.tables import EPOCH, UnreadableOutput, iso_micros, read_files, rows_of

COLUMNS = ["route", "speed"]
SCHEMA = pa.schema([("route", pa.string()), ("speed", pa.float64())])


def _by_tables(expected: list[dict], got: list[dict], key: list[str], columns: list[str]) -> RowDiff:
    return compare_tables(pa.Table.from_pylist(expected, SCHEMA), pa.Table.from_pylist(got, SCHEMA), key, columns)


def _with_shared_ids(expected: list[dict], got: list[dict], key: list[str], columns: list[str]) -> RowDiff:
    """As the joined checks compare: the row ids made once, beforehand, from other copies of the tables."""
    ids = table_ids(pa.Table.from_pylist(expected, SCHEMA), pa.Table.from_pylist(got, SCHEMA), columns)
    return compare_tables(pa.Table.from_pylist(expected, SCHEMA), pa.Table.from_pylist(got, SCHEMA), key, columns, ids=ids)


@pytest.fixture(params=["rows", "tables", "tables-shared-ids"])
def compare(request: pytest.FixtureRequest):
    return {"rows": compare_rows, "tables": _by_tables, "tables-shared-ids": _with_shared_ids}[request.param]


def rows(*pairs: tuple[str, float | None]) -> list[dict]:
    return [{"route": route, "speed": speed} for route, speed in pairs]


def test_equal_multisets_match_in_any_order(compare) -> None:
    diff = compare(rows(("a", 1.0), ("b", 2.0), ("a", 1.0)), rows(("a", 1.0), ("a", 1.0), ("b", 2.0)), ["route"], COLUMNS)
    assert diff.equal and diff.matched == 3


def test_values_within_the_precision_match(compare) -> None:
    diff = compare(rows(("a", 1.0), ("a", 5.0)), rows(("a", 5.0 + 1e-9), ("a", 1.0 - 1e-9)), ["route"], COLUMNS)
    assert diff.equal and diff.matched == 2


def test_an_exact_twin_does_not_steal_an_approximate_partner(compare) -> None:
    # The exact pair is taken first; the approximate one still pairs with what is left.
    diff = compare(rows(("a", 1.0), ("a", 1.0)), rows(("a", 1.0 + 1e-9), ("a", 1.0)), ["route"], COLUMNS)
    assert diff.equal and diff.matched == 2


def test_a_value_off_by_more_than_the_precision_is_a_differing_pair(compare) -> None:
    diff = compare(rows(("a", 1.0), ("b", 2.0)), rows(("a", 1.1), ("b", 2.0)), ["route"], COLUMNS)
    assert diff.differing == [({"route": "a", "speed": 1.0}, {"route": "a", "speed": 1.1})]
    assert diff.matched == 1 and not diff.missing and not diff.unexpected
    assert (diff.n_differing, diff.n_missing, diff.n_unexpected) == (1, 0, 0)


def test_leftovers_without_a_counterpart_are_missing_or_unexpected(compare) -> None:
    diff = compare(rows(("a", 1.0), ("a", 1.0)), rows(("a", 1.0), ("c", 3.0)), ["route"], COLUMNS)
    assert diff.missing == rows(("a", 1.0)) and diff.unexpected == rows(("c", 3.0)) and diff.matched == 1


def test_null_and_nan_values_pair_with_their_own_kind(compare) -> None:
    nan = float("nan")
    diff = compare(rows(("a", None), ("b", nan)), rows(("b", nan), ("a", None)), ["route"], COLUMNS)
    assert diff.equal
    assert not compare(rows(("a", None)), rows(("a", 0.0)), ["route"], COLUMNS).equal


def test_struct_values_compare_by_content() -> None:
    window = {"start": "2026-01-01T00:00:00.000000Z", "end": "2026-01-01T00:00:15.000000Z"}
    diff = compare_rows([{"window": dict(window)}], [{"window": dict(reversed(window.items()))}], [], ["window"])
    assert diff.equal


UTC = timezone.utc


@pytest.mark.parametrize(
    ("arrow_type", "value", "text"),
    [
        (pa.timestamp("us", tz="UTC"), datetime(2026, 1, 1, 0, 0, 15, tzinfo=UTC), "2026-01-01T00:00:15.000000Z"),
        (pa.timestamp("ns", tz="UTC"), datetime(2026, 1, 1, 0, 0, 15, 123456, tzinfo=UTC), "2026-01-01T00:00:15.123456Z"),
        (pa.timestamp("ms"), datetime(2026, 1, 1, 0, 0, 15, 250000), "2026-01-01T00:00:15.250000Z"),
        (pa.timestamp("s", tz="America/New_York"), datetime(2026, 1, 1, 5, 0, 0, tzinfo=UTC), "2026-01-01T05:00:00.000000Z"),
        (pa.timestamp("us", tz="UTC"), datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), "1969-12-31T23:59:59.999999Z"),
        # A four-digit year even before 1000, so the checks can parse it back (Python's strftime gives "5-01-01").
        (pa.timestamp("us"), datetime(5, 1, 1), "0005-01-01T00:00:00.000000Z"),
    ],
)
def test_any_timestamp_becomes_one_iso_form_in_utc(arrow_type: pa.DataType, value: datetime, text: str) -> None:
    table = pa.table({"t": pa.array([value, None], arrow_type)})
    assert rows_of(table) == [{"t": text}, {"t": None}]
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    assert iso_micros(text) == (aware - EPOCH) // timedelta(microseconds=1)


def test_timestamps_inside_a_struct_become_iso_and_null_structs_stay_null() -> None:
    start = pa.array([datetime(2026, 1, 1, tzinfo=UTC), None, datetime(2026, 1, 1, 0, 0, 15, tzinfo=UTC)], pa.timestamp("us", tz="UTC"))
    window = pa.StructArray.from_arrays([start, pa.array([1, 2, 3])], names=["start", "n"], mask=pa.array([False, False, True]))
    table = pa.table({"window": pa.chunked_array([window[:1], window[1:]]), "route": ["r1", "r2", None]})
    assert rows_of(table) == [
        {"window": {"start": "2026-01-01T00:00:00.000000Z", "n": 1}, "route": "r1"},
        {"window": {"start": None, "n": 2}, "route": "r2"},
        {"window": None, "route": None},
    ]


def test_reading_names_a_file_that_is_not_parquet(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.parquet", tmp_path / "part-0.parquet"
    pq.write_table(pa.table({"x": [1.5]}), good)
    bad.write_bytes(b"not parquet at all")
    assert rows_of(read_files(tmp_path, ["good.parquet"]).table) == [{"x": 1.5}]
    with pytest.raises(UnreadableOutput, match=r"part-0\.parquet is not a readable parquet file"):
        read_files(tmp_path, ["good.parquet", "part-0.parquet"])


def test_many_differences_are_counted_whole_and_shown_by_key(compare) -> None:
    expected = [{"route": f"r{i:03d}", "speed": float(i)} for i in range(40)]
    got = [{"route": f"r{i:03d}", "speed": float(i) + (0.5 if i % 2 else 0.0)} for i in range(40)] + [{"route": "zz", "speed": 1.0}]
    diff = compare(expected, got, ["route"], COLUMNS)
    assert (diff.matched, diff.n_differing, diff.n_missing, diff.n_unexpected) == (20, 20, 0, 1)
    assert diff.differing[0] == ({"route": "r001", "speed": 1.0}, {"route": "r001", "speed": 1.5})
    assert diff.unexpected[0] == {"route": "zz", "speed": 1.0}
