"""8.2c: the outer join, as matched pairs and as rows without a partner."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from grader.checks.base import Context, Finding, check, short
from grader.checks.queries import part_errors, unusable
from grader.compare.rows import RowDiff
from grader.compare.tables import compare_tables, table_ids
from grader.contract import JOIN_BOUND_SECONDS, JOIN_CONDITION, WATERMARK, seconds
from grader.outputs import JOINED_COLUMNS

KEY = ["acc_uuid", "acc_timestamp", "loc_uuid", "loc_timestamp"]
BOUND = "one second" if JOIN_BOUND_SECONDS == 1 else seconds(JOIN_BOUND_SECONDS)


def _matched(table: pa.Table) -> pa.Array:
    """Rows with both sides: a joined pair."""
    return pc.and_(table["acc_uuid"].is_valid(), table["loc_uuid"].is_valid())


def _unmatched(table: pa.Table) -> pa.Array:
    return pc.invert(_matched(table))


def _far(table: pa.Table) -> pa.Table:
    """Matched pairs more than the contract's bound apart."""
    pairs = table.filter(_matched(table))
    apart = pc.abs(pc.subtract(pairs["acc_timestamp"].cast(pa.int64()), pairs["loc_timestamp"].cast(pa.int64())))
    return pairs.filter(pc.fill_null(pc.greater(apart, round((JOIN_BOUND_SECONDS + 1e-6) * 1e6)), True))


def _describe(row: dict) -> str:
    acc = f"acceleration {short(row.get('acc_uuid'))} at {str(row.get('acc_timestamp'))[11:23]}" if row.get("acc_uuid") else "no acceleration"
    loc = f"location {short(row.get('loc_uuid'))} at {str(row.get('loc_timestamp'))[11:23]}" if row.get("loc_uuid") else "no location"
    return f"{acc} + {loc}"


Keep = Callable[[pa.Table], pa.Array]


def _judge(ctx: Context, keep: Keep, label: str, hints: Callable[[pa.Table, pa.Table, RowDiff], list[str]]) -> Finding:
    rows = ctx.sink("joined")
    problem = unusable(ctx, "8.2c", "joined", rows)
    if problem or rows is None:
        return problem or Finding(False, "None of your queries ran.")
    expected = ctx.expected["joined"]
    ids = ctx.memo("joined:row-ids", lambda: table_ids(expected, rows.table, JOINED_COLUMNS))  # both checks' first pass
    diff = compare_tables(expected, rows.table, key=KEY, columns=JOINED_COLUMNS,
                          where=(keep(expected), keep(rows.table)), ids=ids)
    if diff.equal:
        return Finding(True, f"All {diff.expected} {label}.", notes=rows.notes)
    evidence = [f"missing: {_describe(r)}" for r in diff.missing[:2]]
    evidence += [f"changed values: {_describe(w)}" for w, _ in diff.differing[:2]]
    details = [f"unexpected: {_describe(r)}" for r in diff.unexpected[:2]]
    details += hints(expected.filter(keep(expected)), rows.table.filter(keep(rows.table)), diff) + part_errors(ctx, "8.2c")
    return Finding(False, f"{diff.matched} of {diff.expected} {label} are right ({diff.n_missing} missing, "
                   f"{diff.n_unexpected} unexpected, {diff.n_differing} changed).", details, rows.notes, evidence)


def _far_pairs(ctx: Context) -> int:
    rows = ctx.sink("joined")
    return _far(rows.table).num_rows if rows and rows.table.num_rows else 0


def _sides(table: pa.Table) -> set[str]:
    """Which sides the rows without a partner come from: "acc", "loc"."""
    return {side for side in ("acc", "loc") if pc.any(table[f"{side}_uuid"].is_valid()).as_py()}


@check("joined.matched")
def matched(ctx: Context) -> Finding:
    def hints(want: pa.Table, got: pa.Table, diff: RowDiff) -> list[str]:
        if far := _far_pairs(ctx):
            return [f"{far} pairs are more than {BOUND} apart: the contract's condition is {JOIN_CONDITION}."]
        if diff.n_missing and not diff.n_unexpected:
            return [f"Some pairs within {BOUND} are missing: check the join condition and both watermarks ({WATERMARK})."]
        return []

    return _judge(ctx, _matched, "joined pairs", hints)


@check("joined.unmatched")
def unmatched(ctx: Context) -> Finding:
    def hints(want: pa.Table, got: pa.Table, diff: RowDiff) -> list[str]:
        sides = _sides(got)
        if _far_pairs(ctx) and diff.n_missing:
            return [f"Rows with no partner within {BOUND} were paired with rows further away: "
                    "fix the join's time bound (see the joined pairs above)."]
        if not got.num_rows:
            return ["There are no rows without a partner: an inner join? Use how='full_outer'."]
        if sides != _sides(want):
            kept = "accelerations" if sides == {"acc"} else "locations"
            return [f"Only {kept} without a partner appear: a one-sided outer join? Use how='full_outer'."]
        return []

    return _judge(ctx, _unmatched, "rows without a partner", hints)
