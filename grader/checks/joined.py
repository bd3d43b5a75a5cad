"""8.2c: the outer join, as matched pairs and as rows without a partner."""

from __future__ import annotations

from collections.abc import Callable

from grader.checks.base import Context, Finding, check, short
from grader.checks.queries import part_errors, unusable
from grader.compare.rows import RowDiff, compare_rows
from grader.contract import JOIN_BOUND_SECONDS, JOIN_CONDITION, WATERMARK, seconds
from grader.outputs import JOINED_COLUMNS
from grader.tables import iso_micros

KEY = ["acc_uuid", "acc_timestamp", "loc_uuid", "loc_timestamp"]
BOUND = "one second" if JOIN_BOUND_SECONDS == 1 else seconds(JOIN_BOUND_SECONDS)


def _matched(row: dict) -> bool:
    return row.get("acc_uuid") is not None and row.get("loc_uuid") is not None


def _unmatched(row: dict) -> bool:
    return not _matched(row)


def _far(row: dict) -> bool:
    """A matched pair more than the contract's bound apart (unparseable times count as far)."""
    try:
        return abs(iso_micros(row["acc_timestamp"]) - iso_micros(row["loc_timestamp"])) / 1e6 > JOIN_BOUND_SECONDS + 1e-6
    except (TypeError, ValueError):
        return True


def _describe(row: dict) -> str:
    acc = f"acceleration {short(row.get('acc_uuid'))} at {str(row.get('acc_timestamp'))[11:23]}" if row.get("acc_uuid") else "no acceleration"
    loc = f"location {short(row.get('loc_uuid'))} at {str(row.get('loc_timestamp'))[11:23]}" if row.get("loc_uuid") else "no location"
    return f"{acc} + {loc}"


def _judge(ctx: Context, keep: Callable[[dict], bool], label: str, hints: Callable[[list[dict], list[dict], RowDiff], list[str]]) -> Finding:
    rows = ctx.sink("joined")
    problem = unusable(ctx, "8.2c", "joined", rows)
    if problem or rows is None:
        return problem or Finding(False, "None of your queries ran.")
    want = [r for r in ctx.expected["joined"] if keep(r)]
    got = [r for r in rows.rows if keep(r)]
    diff = compare_rows(want, got, key=KEY, columns=JOINED_COLUMNS)
    if diff.equal:
        return Finding(True, f"All {diff.expected} {label}.", notes=rows.notes)
    evidence = [f"missing: {_describe(r)}" for r in diff.missing[:2]]
    evidence += [f"changed values: {_describe(w)}" for w, _ in diff.differing[:2]]
    details = [f"unexpected: {_describe(r)}" for r in diff.unexpected[:2]]
    details += hints(want, got, diff) + part_errors(ctx, "8.2c")
    return Finding(False, f"{diff.matched} of {diff.expected} {label} are right ({len(diff.missing)} missing, "
                   f"{len(diff.unexpected)} unexpected, {len(diff.differing)} changed).", details, rows.notes, evidence)


def _far_pairs(ctx: Context) -> list[dict]:
    rows = ctx.sink("joined")
    return [r for r in (rows.rows if rows else []) if _matched(r) and _far(r)]


@check("joined.matched")
def matched(ctx: Context) -> Finding:
    def hints(want: list[dict], got: list[dict], diff: RowDiff) -> list[str]:
        if far := _far_pairs(ctx):
            return [f"{len(far)} pairs are more than {BOUND} apart: the contract's condition is {JOIN_CONDITION}."]
        if diff.missing and not diff.unexpected:
            return [f"Some pairs within {BOUND} are missing: check the join condition and both watermarks ({WATERMARK})."]
        return []

    return _judge(ctx, _matched, "joined pairs", hints)


@check("joined.unmatched")
def unmatched(ctx: Context) -> Finding:
    def hints(want: list[dict], got: list[dict], diff: RowDiff) -> list[str]:
        sides = {("acc" if r.get("acc_uuid") else "loc") for r in got}
        if _far_pairs(ctx) and diff.missing:
            return [f"Rows with no partner within {BOUND} were paired with rows further away: "
                    "fix the join's time bound (see the joined pairs above)."]
        if not got:
            return ["There are no rows without a partner: an inner join? Use how='full_outer'."]
        if sides != {("acc" if r.get("acc_uuid") else "loc") for r in want}:
            kept = "accelerations" if sides == {"acc"} else "locations"
            return [f"Only {kept} without a partner appear: a one-sided outer join? Use how='full_outer'."]
        return []

    return _judge(ctx, _unmatched, "rows without a partner", hints)
