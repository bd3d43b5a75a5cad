"""8.2b: the windowed mean speed, by its final values and by what update mode emits per step."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from itertools import pairwise

from grader.checks import Context, Finding, short
from grader.checks.queries import part_errors, unusable
from grader.compare.rows import PRECISION, compare_rows
from grader.dataset import list_steps, read_step, restamp
from grader.outputs import WINDOWED_COLUMNS, final_windows
from grader.tables import iso_micros, rows_of

KEY = ["window_start", "window_end", "uuid"]
WINDOW_SECONDS = 15


def _window(row: dict) -> str:
    return f"window {row['window_start'][11:19]}–{row['window_end'][11:19]} of route {short(row['uuid'])}"


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
        return [f"Your windows are {', '.join(f'{n} s' for n in sorted(lengths))} long: use window('timestamp', '15 seconds')."]
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
        fix = ("Complete mode keeps every window and never drops a late row: use outputMode('update'), with "
               "withWatermark('timestamp', '30 seconds') before the groupBy." if complete else
               "Call withWatermark('timestamp', '30 seconds') before the groupBy so rows later than the watermark are dropped.")
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
        if isinstance(row.get("window_start"), str) and isinstance(row.get("window_end"), str):
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


def findings(ctx: Context) -> dict[str, Finding]:
    rows = ctx.outputs.windowed if ctx.outputs else None
    problems = unusable(ctx, "8.2b", "windowed", rows)
    if problems:
        failed = Finding(False, problems[0], problems[1:])
        return {"windowed.final": failed, "windowed.updates": Finding(False, failed.summary, failed.details)}
    assert rows is not None
    out = {}
    errors = part_errors(ctx, "8.2b")
    final = final_windows(rows.rows)
    expected_updates = ctx.expected["windowed-updates"]
    columns = ["index", *WINDOWED_COLUMNS]
    got_updates = [{c: r.get(c) for c in [*columns, "step"]} for r in rows.rows]
    unchanged, late = _update_pattern(expected_updates, got_updates)
    complete = bool(unchanged)
    diff = compare_rows(ctx.expected["windowed-final"], final, key=KEY, columns=WINDOWED_COLUMNS)
    if diff.equal:
        out["windowed.final"] = Finding(True, f"All {diff.expected} windows end with the right mean speed.", notes=rows.notes)
    else:
        details = [f"{_window(w)}: expected mean_speed {w['mean_speed']:.4g}, got {g['mean_speed']}" for w, g in diff.differing[:3]]
        details += [f"missing: {_window(w)} (expected mean_speed {w['mean_speed']:.4g})" for w in diff.missing[:2]]
        details += [f"unexpected: {_window(g)}" for g in diff.unexpected[:2]]
        details += _final_hints(ctx, final, diff.differing, complete) + errors
        out["windowed.final"] = Finding(False,
            f"{diff.matched} of {diff.expected} windows end with the right mean speed "
            f"({len(diff.differing)} wrong, {len(diff.missing)} missing, {len(diff.unexpected)} unexpected).", details, rows.notes)

    diff = compare_rows(expected_updates, got_updates, key=["index", *KEY], columns=columns)
    if diff.equal:
        out["windowed.updates"] = Finding(True, f"Each step emitted exactly the windows it changed ({diff.expected} updates in all).")
        return out
    per_step_want: dict[int, int] = defaultdict(int)
    per_step_got: dict[int, int] = defaultdict(int)
    names = {r["index"]: r["step"] for r in [*expected_updates, *got_updates]}
    for r in expected_updates:
        per_step_want[r["index"]] += 1
    for r in got_updates:
        per_step_got[r["index"]] += 1
    first = min(i for i in set(per_step_want) | set(per_step_got) if per_step_want[i] != per_step_got[i]) if any(
        per_step_want[i] != per_step_got[i] for i in set(per_step_want) | set(per_step_got)) else None
    details = []
    if first is not None:
        label = names.get(first, "?")
        label = f"the end-of-stream flush ({label})" if first >= len(list_steps(ctx.data_dir)) else f"step {label}"
        details.append(f"after {label}: expected {per_step_want[first]} updated windows, got {per_step_got[first]}")
    emitted: dict[tuple, list[int]] = defaultdict(list)
    for r in got_updates:
        emitted[_key(r)].append(r["index"])
    if unchanged:
        details.append(f"Windows a step did not change were emitted again (after step {unchanged[0]['step']}: "
                       f"{_window(unchanged[0])}): that is complete mode; use outputMode('update').")
    elif late:
        details.append(f"After step {late[0]['step']}, {_window(late[0])} was updated by a row later than the watermark: "
                       "call withWatermark('timestamp', '30 seconds') before the groupBy so Spark drops such rows.")
    elif emitted and all(len(v) == 1 for v in emitted.values()) and len(got_updates) < len(expected_updates):
        details.append("Each window was emitted once, after it closed: that is append mode; use outputMode('update').")
    details += _lengths_hint(got_updates)
    if not (unchanged or late) and not out["windowed.final"].passed:
        details.append("The windows' values differ too: fix the final mean speeds (above) first.")
    for want, have in diff.differing[:2]:
        details.append(f"after step {want['step']}: {_window(want)} expected {want['mean_speed']:.4g}, got {have['mean_speed']}")
    out["windowed.updates"] = Finding(False,
        f"The updates per step differ from update mode's: expected {diff.expected} updates, got {diff.got}.", details + errors)
    return out
