"""The goldens against an independent oracle: pandas, no Spark, straight from the assignment's words.

The reference solution makes the goldens; this checks them against what the assignment asks,
computed another way: every row in the simple sinks, the mean speed of every 15-second window
and route, and the full outer join of rows of one route at most one second apart. Rows later
than the 30-second watermark are left out, as Spark's watermark drops them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from grader.contract import START
from grader.dataset import list_steps, read_step, restamp
from grader.golden import Expected, load_expected
from grader.paths import BUNDLED_EXPECTED

WATERMARK = pd.Timedelta(seconds=30)


def frames(data_dir: Path) -> dict[str, pd.DataFrame]:
    """Each kind's rows, restamped, with the step they arrive in; late rows marked."""
    out = {}
    for kind in ("accelerations", "locations"):
        parts = []
        for index, step in enumerate(list_steps(data_dir)):
            frame = restamp(read_step(data_dir, kind, step.name), START).to_pandas()
            parts.append(frame.assign(step=index))
        out[kind] = pd.concat(parts, ignore_index=True)
    # A row is late when the newest event time of the steps before its own (both kinds: the
    # join's watermark is the minimum of both sides, each side's is its own) is 30 s past it.
    for frame in out.values():
        newest = frame.groupby("step")["timestamp"].max().cummax().shift(1)
        frame["late"] = frame["timestamp"] < frame["step"].map(newest) - WATERMARK
    return out


def iso(series: pd.Series) -> pd.Series:
    return series.dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def windowed_oracle(locations: pd.DataFrame) -> dict[tuple, float]:
    rows = locations[~locations["late"]].copy()
    rows["window_start"] = iso(rows["timestamp"].dt.floor("15s"))
    return rows.groupby(["window_start", "uuid"])["speed"].mean().to_dict()


def joined_oracle(acc: pd.DataFrame, loc: pd.DataFrame) -> tuple[set, set, set]:
    acc, loc = acc[~acc["late"]], loc[~loc["late"]]
    pairs = acc.merge(loc, on="uuid", suffixes=("_acc", "_loc"))
    gap = (pairs["timestamp_loc"] - pairs["timestamp_acc"]).abs()
    pairs = pairs[gap <= pd.Timedelta(seconds=1)]
    matched = set(zip(pairs["uuid"], iso(pairs["timestamp_acc"]), iso(pairs["timestamp_loc"])))
    acc_alone = set(zip(acc["uuid"], iso(acc["timestamp"]))) - {(u, a) for u, a, _ in matched}
    loc_alone = set(zip(loc["uuid"], iso(loc["timestamp"]))) - {(u, b) for u, _, b in matched}
    return matched, acc_alone, loc_alone


def assert_goldens_match_oracle(expected: Expected, data_dir: Path) -> None:
    data = frames(data_dir)
    for kind in ("accelerations", "locations"):
        assert len(expected[f"simple-{kind}"]) == len(data[kind]), "the simple sink keeps every row, late ones too"
    want = windowed_oracle(data["locations"])
    got = {(r["window_start"], r["uuid"]): r["mean_speed"] for r in expected.rows("windowed-final")}
    assert got.keys() == want.keys()
    for key, value in want.items():
        assert got[key] == pytest.approx(value, abs=1e-9), key
    matched, acc_alone, loc_alone = joined_oracle(data["accelerations"], data["locations"])
    rows = expected.rows("joined")
    assert {(r["acc_uuid"], r["acc_timestamp"], r["loc_timestamp"]) for r in rows if r["acc_uuid"] and r["loc_uuid"]} == matched
    assert {(r["acc_uuid"], r["acc_timestamp"]) for r in rows if not r["loc_uuid"]} == acc_alone
    assert {(r["loc_uuid"], r["loc_timestamp"]) for r in rows if not r["acc_uuid"]} == loc_alone
    assert len(rows) == len(matched) + len(acc_alone) + len(loc_alone), "no row twice"


def test_bundled_goldens_match_the_oracle(fixture_data: Path) -> None:
    assert frames(fixture_data)["locations"]["late"].any(), "the fixture holds a late row"
    assert_goldens_match_oracle(load_expected(BUNDLED_EXPECTED), fixture_data)


@pytest.mark.spark
@pytest.mark.realdata
def test_reference_on_real_data_matches_the_oracle(real_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from grader.reference import expected_for

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert not frames(real_data)["locations"]["late"].any(), "the real data arrives in order"
    assert_goldens_match_oracle(expected_for(real_data), real_data)
