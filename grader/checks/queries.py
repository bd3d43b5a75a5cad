"""What every 8.2 check says first: why a query produced nothing (its error, a crash, no files)."""

from __future__ import annotations

from grader.checks import Context
from grader.outputs import SinkRows
from grader.spark_errors import part_of_query, translate

SINK_PATHS = {
    "simple-accelerations": "results/output/simple/accelerations",
    "simple-locations": "results/output/simple/locations",
    "windowed": "results/output/windowed",
    "joined": "results/output/stream-joined",
}


def part_errors(ctx: Context, part: str) -> list[str]:
    """One sentence per error that concerns ``part`` (errors of no known part concern all)."""
    sentences = []
    for error in ctx.queries.errors:
        message = error["error"].get("message", "")
        rule_part, sentence = translate(message)
        owner = rule_part or part_of_query(error["sink"], message)
        if error["stage"] == "import-failed":
            where = f" ({error['error']['where'][-1]})" if error["error"].get("where") else ""
            sentence = f"stream_queries.py could not be imported: {error['error'].get('type')}: {sentence}{where}"
            owner = None
        elif error["stage"] == "start-failed":
            sentence = f"start_queries raised {error['error'].get('type')}: {sentence}"
        elif error["stage"] == "spark-failed":
            sentence, owner = f"Spark could not start: {sentence}", None
        else:
            sentence = f"a query stopped with an error: {sentence}"
        if owner in (None, part) and sentence not in sentences:
            sentences.append(sentence)
    if ctx.queries.crashed:
        sentences.append(f"The queries {ctx.queries.crashed}.")
    return sentences


def start_failure(ctx: Context) -> str | None:
    """start_queries' error, told to a part it was not about: it stopped that part's query too."""
    for error in ctx.queries.errors:
        if error["stage"] == "start-failed":
            _, sentence = translate(error["error"].get("message", ""))
            return (f"This query never ran: start_queries raised {error['error'].get('type')} before starting it. "
                    f"{sentence.rstrip('.')}. (Only the queries started before the error ran.)")
    return None


def unusable(ctx: Context, part: str, sink: str, rows: SinkRows | None) -> list[str] | None:
    """Why ``sink`` cannot be compared at all, or None when its rows are there to compare.

    The cause (an error) comes first: it is the summary a student reads first.
    """
    errors = part_errors(ctx, part)
    nothing = f"Nothing was written to {SINK_PATHS[sink]} during the replay."
    if rows is None:
        cause = errors or [s for s in [start_failure(ctx)] if s]
        return cause + [nothing] if cause else ["None of your queries ran.", nothing]
    if rows.problems:
        return [f"{SINK_PATHS[sink]}: {p}" for p in rows.problems] + errors
    if rows.files == 0 or not rows.rows:
        if rows.files:
            nothing = f"No row of the data was written to {SINK_PATHS[sink]} during the replay."
        if errors:
            return [*errors, nothing]
        cause = start_failure(ctx)
        if cause:
            return [cause, nothing]
        return [nothing, f"Your query ran without an error: does it read results_dir/stream/input/<kind>, where each step "
                f"is published, and write to {SINK_PATHS[sink]}?"]
    return None
