"""8.2b: the windowed mean speed, by its final values and by what update mode emits per step."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from itertools import pairwise

from grader.checks.base import Context, Finding, check, short
from grader.checks.grouping import several_rows
from grader.checks.queries import part_errors, unusable
from grader.compare.rows import PRECISION, RowDiff, compare_rows
from grader.contract import WATERMARK, WINDOW, WINDOW_SECONDS
from grader.dataset import list_steps, read_step, restamp
from grader.outputs import WINDOWED_COLUMNS, SinkRows, final_windows
from grader.tables import iso_micros, rows_of

KEY = ["window_start", "window_end", "uuid"]
USE_WATERMARK = f"withWatermark('timestamp', '{WATERMARK}') before the groupBy"


def _window(row: dict) -> str:
    return f"window {str(row.get('window_start'))[11:19]}–{str(row.get('window_end'))[11:19]} of route {short(row.get('uuid'))}"


def _seconds(value: str) -> float:
    return iso_micros(value) / 1e6


def _speeds(ctx: Context) -> dict[tuple[str, str], list[float]]:
    """Every location row's speed by (window start, route), late rows included."""
    speeds: dict[tuple[str, str], list[float]] = defaultdict(list)
    for step in list_steps(ctx.data_dir):
        for row in rows_of(restamp(read_step(ctx.data_dir, "locations", step.name), ctx.start)):
            stamp = _seconds(row["timestamp"])
            start = datetime.fromtimestamp(stamp - stamp % WINDOW_SECONDS, tz=ctx.start.tzinfo)
            speeds[(start.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), row["uuid"])].append(row["speed"])
    return speeds


def _near(a: float | None, b: float) -> bool:
    return a is not None and abs(a - b) <= PRECISION


def _lengths_hint(got: list[dict]) -> list[str]:
    lengths = {round(_seconds(r["window_end"]) - _seconds(r["window_start"])) for r in got if r.get("window_start") and r.get("window_end")}
    if lengths - {WINDOW_SECONDS}:
        return [f"Your windows are {', '.join(f'{n} s' for n in sorted(lengths))} long: use window('timestamp', '{WINDOW}')."]
    return []


def _windows(rows: list[dict], verb: tuple[str, str]) -> str:
    """'window … of route … counts' or '3 windows (e.g. window …) count'."""
    if len(rows) == 1:
        return f"{_window(rows[0])} {verb[0]}"
    return f"{len(rows)} windows (e.g. {_window(rows[0])}) {verb[1]}"


def _final_hints(ctx: Context, got: list[dict], differing: list[tuple[dict, dict]], complete: bool) -> list[str]:
    hints = _lengths_hint(got)
    speeds = _speeds(ctx)
    late, invalid = [], []
    for want, have in differing:
        values = speeds.get((want["window_start"], want["uuid"]), [])
        valid = [v for v in values if v >= 0]
        if values and _near(have.get("mean_speed"), sum(values) / len(values)):
            late.append(want)
        elif valid and len(valid) < len(values) and _near(have.get("mean_speed"), sum(valid) / len(valid)):
            invalid.append(want)
    if late:
        fix = (f"Complete mode keeps every window and never drops a late row: use outputMode('update'), with {USE_WATERMARK}."
               if complete else f"Call {USE_WATERMARK} so rows later than the watermark are dropped.")
        hints.append(f"{_windows(late, ('counts', 'count'))} a row that arrived after the watermark had passed the window. {fix}")
    if invalid:
        hints.append(f"{_windows(invalid, ('leaves', 'leave'))} out rows with speed = -1: the contract averages every row "
                     "of the window, speed = -1 included (README, 8.2b).")
    return hints


def _key(row: dict) -> tuple:
    return row["window_start"], row["window_end"], row["uuid"]


def _update_pattern(expected: list[dict], got: list[dict]) -> tuple[list[dict], list[dict]]:
    """Updates that update mode would not emit: (re-emitted unchanged, changed after the window closed).

    Re-emitting windows a step did not change is complete mode's mark; a window changing
    after its last expected update was changed by a row later than the watermark.
    """
    wanted: dict[tuple, set[int]] = defaultdict(set)
    for row in expected:
        wanted[_key(row)].add(row["index"])
    emitted: dict[tuple, list[dict]] = defaultdict(list)
    for row in sorted(got, key=lambda r: r["index"]):
        emitted[_key(row)].append(row)
    unchanged, late = [], []
    for key, rows in emitted.items():
        for before, row in pairwise(rows):
            if row["index"] == before["index"] or row["index"] in wanted.get(key, set()):
                continue
            if before.get("mean_speed") is not None and _near(row.get("mean_speed"), before["mean_speed"]):
                unchanged.append(row)
            elif wanted.get(key) and row["index"] > max(wanted[key]):
                late.append(row)
    return unchanged, late


def _rows(ctx: Context) -> tuple[SinkRows | None, Finding | None]:
    rows = ctx.sink("windowed")
    return rows, unusable(ctx, "8.2b", "windowed", rows)


def _updates(rows: SinkRows) -> list[dict]:
    return [{c: r.get(c) for c in ["index", "step", *WINDOWED_COLUMNS]} for r in rows.rows]


def _final(ctx: Context, rows: SinkRows) -> tuple[list[dict], RowDiff]:
    """(each window's last value, its comparison with the expected ones): both checks need it."""

    def make() -> tuple[list[dict], RowDiff]:
        got = final_windows(rows.rows)
        return got, compare_rows(ctx.expected.rows("windowed-final"), got, key=KEY, columns=WINDOWED_COLUMNS)

    return ctx.memo("windowed.final", make)


@check("windowed.final")
def final(ctx: Context) -> Finding:
    rows, problem = _rows(ctx)
    if problem or rows is None:
        return problem or Finding(False, "None of your queries ran.")
    got, diff = _final(ctx, rows)
    if diff.equal:
        return Finding(True, f"All {diff.expected} windows end with the right mean speed.", notes=rows.notes)
    complete = bool(_update_pattern(ctx.expected.rows("windowed-updates"), _updates(rows))[0])
    evidence = [f"{_window(w)}: expected mean_speed {w['mean_speed']:.4g}, got {g['mean_speed']}" for w, g in diff.differing[:3]]
    evidence += [f"missing: {_window(w)} (expected mean_speed {w['mean_speed']:.4g})" for w in diff.missing[:2]]
    details = [f"unexpected: {_window(g)}" for g in diff.unexpected[:2]]
    details = several_rows(rows, lambda: _speeds(ctx)) + details
    details += _final_hints(ctx, got, diff.differing, complete) + part_errors(ctx, "8.2b")
    return Finding(False, f"{diff.matched} of {diff.expected} windows end with the right mean speed "
                   f"({diff.n_differing} wrong, {diff.n_missing} missing, {diff.n_unexpected} unexpected).",
                   details, rows.notes, evidence)


def _per_step(expected: list[dict], got: list[dict], steps: int) -> str | None:
    """The first step whose count of updated windows differs, said as a detail."""
    want: dict[int, int] = defaultdict(int)
    have: dict[int, int] = defaultdict(int)
    names = {r["index"]: r["step"] for r in [*expected, *got]}
    for r in expected:
        want[r["index"]] += 1
    for r in got:
        have[r["index"]] += 1
    differ = sorted(i for i in set(want) | set(have) if want[i] != have[i])
    if not differ:
        return None
    first = differ[0]
    label = f"the end-of-stream flush ({names.get(first, '?')})" if first >= steps else f"step {names.get(first, '?')}"
    return f"after {label}: expected {want[first]} updated windows, got {have[first]}"


@check("windowed.updates")
def updates(ctx: Context) -> Finding:
    rows, problem = _rows(ctx)
    if problem or rows is None:
        return problem or Finding(False, "None of your queries ran.")
    expected, got = ctx.expected.rows("windowed-updates"), _updates(rows)
    columns = ["index", *WINDOWED_COLUMNS]
    diff = compare_rows(expected, got, key=["index", *KEY], columns=columns)
    if diff.equal:
        return Finding(True, f"Each step emitted exactly the windows it changed ({diff.expected} updates in all).")
    unchanged, late = _update_pattern(expected, got)
    details = [line for line in [_per_step(expected, got, len(ctx.expected.manifest["replay_steps"]))] if line]
    emitted: dict[tuple, list[int]] = defaultdict(list)
    for r in got:
        emitted[_key(r)].append(r["index"])
    if unchanged:
        details.append(f"Windows a step did not change were emitted again (after step {unchanged[0]['step']}: "
                       f"{_window(unchanged[0])}): that is complete mode; use outputMode('update').")
    elif late:
        details.append(f"After step {late[0]['step']}, {_window(late[0])} was updated by a row later than the watermark: "
                       f"call {USE_WATERMARK} so Spark drops such rows.")
    elif emitted and all(len(v) == 1 for v in emitted.values()) and len(got) < len(expected):
        details.append("Each window was emitted once, after it closed: that is append mode; use outputMode('update').")
    details += _lengths_hint(got)
    if not (unchanged or late) and not _final(ctx, rows)[1].equal:
        details.append("The windows' values differ too: fix the final mean speeds (above) first.")
    evidence = [f"after step {want['step']}: {_window(want)} expected {want['mean_speed']:.4g}, got {have['mean_speed']}"
                for want, have in diff.differing[:2]]
    return Finding(False, f"The updates per step differ from update mode's: expected {diff.expected} updates, got {diff.got}.",
                   details + part_errors(ctx, "8.2b"), evidence=evidence)
