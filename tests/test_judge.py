"""Judging without a JVM: each check on its own, outputs read as Spark reads them back, types
checked against the contract before values, and feedback on hidden data without expected rows."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from grader.checks import registry
from grader.contract import KINDS
from grader.golden import load_expected
from grader.judge import context, judge
from grader.observations import FeedRecord, QueriesRecord, StepSeen
from grader.outputs import sink_reader
from grader.paths import BUNDLED_DATA, BUNDLED_EXPECTED
from grader.reports import REDACTED, check_text, feedback_md, results_json
from grader.rubric import DEFAULT_RUBRIC, load_rubric
from grader.verdict import Grade

RUBRIC = load_rubric(DEFAULT_RUBRIC)
WINDOW = pa.schema([("window_start", pa.timestamp("us", tz="UTC")), ("window_end", pa.timestamp("us", tz="UTC")),
                    ("uuid", pa.string()), ("mean_speed", pa.float64())])


def records(tmp_path: Path, gained: dict[str, list[str]] | None = None) -> tuple[FeedRecord, QueriesRecord]:
    feed = FeedRecord(results=tmp_path / "feed", crashed="ended (exit 1) before reporting what it did")
    queries = QueriesRecord(observed=tmp_path / "observed", done=True)
    if gained is not None:
        queries.steps = [StepSeen(0, "t=000.0", False, gained)]
    return feed, queries


def write(tmp_path: Path, sink: str, relative: str, table: pa.Table) -> None:
    path = tmp_path / "observed" / sink / "000" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


def test_a_check_that_raises_costs_that_check_only_and_is_flagged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_ctx: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setitem(registry.CHECKS, "windowed.final", broken)
    ctx = context(BUNDLED_DATA, *records(tmp_path), load_expected(BUNDLED_EXPECTED))
    results, causes, _ = judge(ctx, RUBRIC)
    flagged = [r for r in results if r.review]
    assert [r.id for r in flagged] == ["windowed.final"]
    assert flagged[0].summary.startswith("The grader could not judge this check (RuntimeError: boom)")
    assert all(r.summary for r in results) and not [r for r in results if r.passed]
    assert causes["8.1"] == "Your feed ended (exit 1) before reporting what it did."
    grade = Grade("s", "s", "graded", checks=results, max_score=RUBRIC.max_score)
    assert grade.review == ["windowed.final"]


def test_a_wrong_type_is_said_before_any_value_is_compared(tmp_path: Path) -> None:
    epoch = pa.table({"window_start": [15], "window_end": [30], "uuid": ["u"], "mean_speed": ["1.5"]})
    write(tmp_path, "windowed", "part-0.parquet", epoch)
    _, queries = records(tmp_path, {"windowed": ["part-0.parquet"]})
    rows = sink_reader(queries, BUNDLED_DATA)("windowed")
    assert rows is not None and not rows.rows
    assert "window_start holds integers (epoch seconds?)" in rows.problems[0]
    assert any("mean_speed holds strings" in p for p in rows.problems)


def test_partition_folders_become_columns_as_spark_reads_them(tmp_path: Path) -> None:
    route = load_expected(BUNDLED_EXPECTED).rows("windowed-final")[0]["uuid"]
    table = pa.table({"window_start": pa.array([0], pa.timestamp("us", tz="UTC")), "window_end": pa.array([15_000_000], pa.timestamp("us", tz="UTC")),
                      "mean_speed": [2.5], "batch_id": pa.array([3], pa.int64())})
    write(tmp_path, "windowed", f"uuid={route}/part-0.parquet", table)
    _, queries = records(tmp_path, {"windowed": [f"uuid={route}/part-0.parquet"]})
    rows = sink_reader(queries, BUNDLED_DATA)("windowed")
    assert rows is not None and not rows.problems, rows.problems
    assert rows.rows[0]["uuid"] == route and rows.rows[0]["window_end"] == "1970-01-01T00:00:15.000000Z"


def test_an_observed_file_through_a_symbolic_link_is_refused(tmp_path: Path) -> None:
    (tmp_path / "observed" / "windowed" / "000").mkdir(parents=True)
    pq.write_table(WINDOW.empty_table(), tmp_path / "elsewhere.parquet")
    (tmp_path / "observed" / "windowed" / "000" / "part-0.parquet").symlink_to(tmp_path / "elsewhere.parquet")
    _, queries = records(tmp_path, {"windowed": ["part-0.parquet"]})
    rows = sink_reader(queries, BUNDLED_DATA)("windowed")
    assert rows is not None and "symbolic link" in rows.problems[0]


def test_feedback_on_a_hidden_dataset_quotes_no_expected_row(tmp_path: Path) -> None:
    ctx = context(BUNDLED_DATA, *records(tmp_path, {}), load_expected(BUNDLED_EXPECTED))
    results, causes, _ = judge(ctx, RUBRIC)
    check = next(r for r in results if r.id == "joined.matched")
    check.evidence = ["missing: acceleration 1234… at 00:00:01.000 + location 1234… at 00:00:01.500"]
    grade = Grade("s", "s", "graded", checks=results, max_score=RUBRIC.max_score, causes=causes, redacted=True)
    for text in (check_text(check, True), feedback_md(grade, RUBRIC), str(results_json(grade, RUBRIC))):
        assert "missing: acceleration" not in text and REDACTED in text
    assert "missing: acceleration" in check_text(check, False)


def _feed_of(tmp_path: Path, stamp) -> FeedRecord:  # stamp: (table, step seconds) -> table
    """A feed record whose input holds every step of the fixtures, each file restamped by ``stamp``."""
    from grader.dataset import list_steps, read_step

    results = tmp_path / "results"
    for step in list_steps(BUNDLED_DATA):
        for kind in KINDS:
            if (BUNDLED_DATA / kind / step.name).is_dir():
                folder = results / "stream" / "input" / kind / step.name
                folder.mkdir(parents=True)
                pq.write_table(stamp(read_step(BUNDLED_DATA, kind, step.name), step.seconds), folder / "part.parquet")
    return FeedRecord(results=results)


@pytest.mark.parametrize(("how", "passed", "says"), [
    ("start", True, "Every row's timestamp is start + offset (start = 00:00:00.000"),
    ("stored", False, "timestamp still holds the data's stored values."),
    ("stored_plus", False, "timestamp is the data's stored timestamp + offset."),
    ("per_step", False, "rows differ from the rest."),
])
def test_feed_timestamp_says_how_the_start_was_taken(tmp_path: Path, how: str, passed: bool, says: str) -> None:
    """The four ways a feed sets timestamp, each told apart on every row (200k at the original release's size)."""
    import pyarrow.compute as pc

    from grader.contract import START
    from grader.dataset import list_steps, read_step, restamp

    def stamp(table: pa.Table, seconds: float) -> pa.Table:
        if how == "stored":
            return table
        if how == "stored_plus":
            plus = pc.add(table["timestamp"].cast(pa.int64()), pc.cast(pc.round(pc.multiply(table["offset"], 1e6)), pa.int64()))
            return table.set_column(table.schema.get_field_index("timestamp"), "timestamp", plus.cast(table["timestamp"].type))
        from datetime import timedelta
        return restamp(table, START + timedelta(seconds=seconds if how == "per_step" else 0))

    feed = _feed_of(tmp_path, stamp)
    ctx = context(BUNDLED_DATA, feed, QueriesRecord(observed=tmp_path / "observed"), load_expected(BUNDLED_EXPECTED))
    finding = registry.CHECKS["feed.timestamp"](ctx)
    text = "\n".join([finding.summary, *finding.details])
    assert finding.passed is passed and says in text, text
    if how == "per_step":
        assert "the start instant is taken anew at every step" in text, text
    if how.startswith("stored"):
        first = read_step(BUNDLED_DATA, "accelerations", list_steps(BUNDLED_DATA)[0].name)["timestamp"][0].as_py()
        assert f"({first:%Y-%m-%d %H:%M:%S} UTC for the first row)" in text, text
