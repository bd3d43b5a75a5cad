"""8.2b: the windowed mean speed, by its final values and by what update mode emits per step."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from grader.checks import Context, Finding, short
from grader.checks.queries import part_errors, unusable
from grader.compare.rows import PRECISION, compare_rows
from grader.dataset import list_steps, read_step, restamp
from grader.outputs import WINDOWED_COLUMNS, final_windows
from grader.tables import rows_of

KEY = ["window_start", "window_end", "uuid"]
WINDOW_SECONDS = 15


def _window(row: dict) -> str:
    return f"window {row['window_start'][11:19]}–{row['window_end'][11:19]} of route {short(row['uuid'])}"


def _seconds(value: str) -> float:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


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


def _hints(ctx: Context, got: list[dict], differing: list[tuple[dict, dict]]) -> list[str]:
    hints = []
    lengths = {round(_seconds(r["window_end"]) - _seconds(r["window_start"])) for r in got if r.get("window_start") and r.get("window_end")}
    if lengths - {WINDOW_SECONDS}:
        hints.append(f"Your windows are {', '.join(f'{n} s' for n in sorted(lengths))} long: use window('timestamp', '15 seconds').")
    speeds = _speeds(ctx)
    for want, have in differing:
        values = speeds.get((want["window_start"], want["uuid"]), [])
        valid = [v for v in values if v >= 0]
        if values and _near(have.get("mean_speed"), sum(values) / len(values)):
            hints.append(f"{_window(want)} counts a row that arrived after the watermark had passed the window: "
                         "call withWatermark('timestamp', '30 seconds') before the groupBy so late rows are dropped.")
        elif valid and len(valid) < len(values) and _near(have.get("mean_speed"), sum(valid) / len(valid)):
            hints.append(f"{_window(want)} leaves out rows with speed = -1; the contract averages every row (README, 8.2b).")
    return list(dict.fromkeys(hints))


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
    diff = compare_rows(ctx.expected["windowed-final"], final, key=KEY, columns=WINDOWED_COLUMNS)
    if diff.equal:
        out["windowed.final"] = Finding(True, f"All {diff.expected} windows end with the right mean speed.", notes=rows.notes)
    else:
        details = [f"{_window(w)}: expected mean_speed {w['mean_speed']:.4g}, got {g['mean_speed']}" for w, g in diff.differing[:3]]
        details += [f"missing: {_window(w)} (expected mean_speed {w['mean_speed']:.4g})" for w in diff.missing[:2]]
        details += [f"unexpected: {_window(g)}" for g in diff.unexpected[:2]]
        details += _hints(ctx, final, diff.differing) + errors
        out["windowed.final"] = Finding(False,
            f"{diff.matched} of {diff.expected} windows end with the right mean speed "
            f"({len(diff.differing)} wrong, {len(diff.missing)} missing, {len(diff.unexpected)} unexpected).", details, rows.notes)

    expected_updates = ctx.expected["windowed-updates"]
    columns = ["index", *WINDOWED_COLUMNS]
    got_updates = [{c: r.get(c) for c in [*columns, "step"]} for r in rows.rows]
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
        emitted[(r["window_start"], r["window_end"], r["uuid"])].append(r["index"])
    if len(got_updates) > len(expected_updates) and any(len(v) > 1 for v in emitted.values()):
        details.append("Windows the step did not change were emitted again: that is complete mode; use outputMode('update').")
    elif emitted and all(len(v) == 1 for v in emitted.values()) and len(got_updates) < len(expected_updates):
        details.append("Each window was emitted once, after it closed: that is append mode; use outputMode('update').")
    for want, have in diff.differing[:2]:
        details.append(f"after step {want['step']}: {_window(want)} expected {want['mean_speed']:.4g}, got {have['mean_speed']}")
    out["windowed.updates"] = Finding(False,
        f"The updates per step differ from update mode's: expected {diff.expected} updates, got {diff.got}.", details + errors)
    return out
