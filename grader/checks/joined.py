"""8.2c: the outer join, as matched pairs and as rows without a partner."""

from __future__ import annotations

from grader.checks import Context, Finding, short
from grader.checks.queries import part_errors, unusable
from grader.compare.rows import compare_rows
from grader.outputs import JOINED_COLUMNS
from grader.tables import iso_micros

KEY = ["acc_uuid", "acc_timestamp", "loc_uuid", "loc_timestamp"]
BOUND_SECONDS = 1.0


def _matched(row: dict) -> bool:
    return row.get("acc_uuid") is not None and row.get("loc_uuid") is not None


def _seconds(value: str) -> float:
    return iso_micros(value) / 1e6


def _far(row: dict) -> bool:
    """A matched pair more than the contract's bound apart (unparseable times count as far)."""
    try:
        return abs(_seconds(row["acc_timestamp"]) - _seconds(row["loc_timestamp"])) > BOUND_SECONDS + 1e-6
    except (TypeError, ValueError):
        return True


def _describe(row: dict) -> str:
    acc = f"acceleration {short(row.get('acc_uuid'))} at {str(row.get('acc_timestamp'))[11:23]}" if row.get("acc_uuid") else "no acceleration"
    loc = f"location {short(row.get('loc_uuid'))} at {str(row.get('loc_timestamp'))[11:23]}" if row.get("loc_uuid") else "no location"
    return f"{acc} + {loc}"


def findings(ctx: Context) -> dict[str, Finding]:
    rows = ctx.outputs.joined if ctx.outputs else None
    problems = unusable(ctx, "8.2c", "joined", rows)
    if problems:
        return {i: Finding(False, problems[0], problems[1:]) for i in ("joined.matched", "joined.unmatched")}
    assert rows is not None
    errors = part_errors(ctx, "8.2c")
    expected = ctx.expected["joined"]
    far = [r for r in rows.rows if _matched(r) and _far(r)]
    out = {}
    for check_id, keep, label in (
        ("joined.matched", _matched, "joined pairs"),
        ("joined.unmatched", lambda r: not _matched(r), "rows without a partner"),
    ):
        want = [r for r in expected if keep(r)]
        got = [r for r in rows.rows if keep(r)]
        diff = compare_rows(want, got, key=KEY, columns=JOINED_COLUMNS)
        if diff.equal:
            out[check_id] = Finding(True, f"All {diff.expected} {label}.", notes=rows.notes)
            continue
        details = [f"missing: {_describe(r)}" for r in diff.missing[:2]]
        details += [f"unexpected: {_describe(r)}" for r in diff.unexpected[:2]]
        details += [f"changed values: {_describe(w)}" for w, _ in diff.differing[:2]]
        if check_id == "joined.matched":
            if far:
                details.append(f"{len(far)} pairs are more than one second apart: the contract's condition is "
                               "loc_timestamp BETWEEN acc_timestamp - INTERVAL 1 SECOND AND acc_timestamp + INTERVAL 1 SECOND.")
            elif diff.missing and not diff.unexpected:
                details.append("Some pairs within one second are missing: check the join condition and both watermarks (30 seconds).")
        else:
            sides = {("acc" if r.get("acc_uuid") else "loc") for r in got}
            if far and diff.missing:
                details.append("Rows with no partner within one second were paired with rows further away: "
                               "fix the join's time bound (see the joined pairs above).")
            elif not got:
                details.append("There are no rows without a partner: an inner join? Use how='full_outer'.")
            elif sides != {("acc" if r.get("acc_uuid") else "loc") for r in want}:
                kept = "accelerations" if sides == {"acc"} else "locations"
                details.append(f"Only {kept} without a partner appear: a one-sided outer join? Use how='full_outer'.")
        out[check_id] = Finding(False,
            f"{diff.matched} of {diff.expected} {label} are right ({len(diff.missing)} missing, "
            f"{len(diff.unexpected)} unexpected, {len(diff.differing)} changed).", details + errors, rows.notes)
    return out
