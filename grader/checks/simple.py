"""8.2a: the simple file sinks hold every input row, unchanged."""

from __future__ import annotations

from grader.checks.base import Context, Finding, check, short
from grader.checks.queries import part_errors, unusable
from grader.compare.tables import compare_tables
from grader.outputs import SIMPLE_COLUMNS


def _simple(ctx: Context, sink: str) -> Finding:
    rows = ctx.sink(sink)
    problem = unusable(ctx, "8.2a", sink, rows)
    if problem or rows is None:
        return problem or Finding(False, "None of your queries ran.")
    diff = compare_tables(ctx.expected[sink], rows.table, key=["uuid", "timestamp"], columns=SIMPLE_COLUMNS[sink])
    if diff.equal:
        return Finding(True, f"All {diff.expected} rows, unchanged.", notes=rows.notes)
    evidence = [f"missing: route {short(row['uuid'])} at {row['timestamp']}" for row in diff.missing[:2]]
    details = [f"not in the input: route {short(row.get('uuid'))} at {row.get('timestamp')}" for row in diff.unexpected[:2]]
    for want, got in diff.differing[:2]:
        changed = [c for c in SIMPLE_COLUMNS[sink] if want.get(c) != got.get(c)]
        evidence.append(f"changed: route {short(want['uuid'])} at {want['timestamp']}: {', '.join(changed)}")
    if diff.n_unexpected > 0 and diff.got >= 2 * diff.expected:
        details.append("Every row appears more than once: write each stream once, in append mode, with one checkpoint per query.")
    details += part_errors(ctx, "8.2a")
    return Finding(False, f"Expected {diff.expected} rows, got {diff.got}: {diff.n_missing} missing, "
                   f"{diff.n_unexpected} unexpected, {diff.n_differing} changed.", details, rows.notes, evidence)


@check("simple.accelerations")
def accelerations(ctx: Context) -> Finding:
    return _simple(ctx, "simple-accelerations")


@check("simple.locations")
def locations(ctx: Context) -> Finding:
    return _simple(ctx, "simple-locations")
