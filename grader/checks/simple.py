"""8.2a: the simple file sinks hold every input row, unchanged."""

from __future__ import annotations

from grader.checks import Context, Finding, short
from grader.checks.queries import part_errors, unusable
from grader.compare.rows import compare_rows
from grader.outputs import SIMPLE_COLUMNS

SINKS = {"simple.accelerations": "simple-accelerations", "simple.locations": "simple-locations"}


def findings(ctx: Context) -> dict[str, Finding]:
    out = {}
    for check_id, sink in SINKS.items():
        rows = ctx.outputs.simple[sink] if ctx.outputs else None
        problems = unusable(ctx, "8.2a", sink, rows)
        if problems:
            out[check_id] = Finding(False, problems[0], problems[1:])
            continue
        assert rows is not None
        expected = ctx.expected[sink]
        diff = compare_rows(expected, rows.rows, key=["uuid", "timestamp"], columns=SIMPLE_COLUMNS[sink])
        if diff.equal:
            out[check_id] = Finding(True, f"All {diff.expected} rows, unchanged.", notes=rows.notes)
            continue
        details = []
        for row in diff.missing[:2]:
            details.append(f"missing: route {short(row['uuid'])} at {row['timestamp']}")
        for row in diff.unexpected[:2]:
            details.append(f"not in the input: route {short(row.get('uuid'))} at {row.get('timestamp')}")
        for want, got in diff.differing[:2]:
            changed = [c for c in SIMPLE_COLUMNS[sink] if want.get(c) != got.get(c)]
            details.append(f"changed: route {short(want['uuid'])} at {want['timestamp']}: {', '.join(changed)}")
        if len(diff.unexpected) > 0 and diff.got >= 2 * diff.expected:
            details.append("Every row appears more than once: write each stream once, in append mode, with one checkpoint per query.")
        details += part_errors(ctx, "8.2a")
        out[check_id] = Finding(
            False,
            f"Expected {diff.expected} rows, got {diff.got}: {len(diff.missing)} missing, "
            f"{len(diff.unexpected)} unexpected, {len(diff.differing)} changed.",
            details,
            rows.notes,
        )
    return out
