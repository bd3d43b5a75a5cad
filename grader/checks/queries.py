"""What the 8.2 checks say first: why a part's query produced nothing (its error, a crash, a
start_queries that never returned, a trigger that stopped it), and each part's root cause."""

from __future__ import annotations

import re

from grader.checks.base import Context, Finding
from grader.contract import PARTS, SINK_PARTS, SINKS
from grader.observations import parts_of
from grader.outputs import SinkRows
from grader.spark_errors import part_of_query, translate

QUERY_PARTS = tuple(p for p in PARTS if p != "8.1")
SYNTAX_PLACE = re.compile(r"\s*\([^()]*, line \d+\)$")  # "(stream_data.py, line 3)" at the end of a SyntaxError


def sink_path(sink: str) -> str:
    return f"results/{SINKS[sink]}"


def where(error: dict) -> str:
    """``stream_queries.py line 12 (in windowed_speed)`` from the student's innermost frame."""
    frames = error.get("where") or []
    if not frames:
        return ""
    name, _, rest = frames[-1].partition(":")
    line, _, function = rest.partition(" in ")
    return f"{name} line {line}" + (f" (in {function})" if function else "") if line else name


def located(kind: str, said: str, error: dict) -> str:
    """``Kind at file line N (in f): message``; a SyntaxError's own "(file, line N)" is not repeated."""
    at = where(error)
    if not at:
        return f"{kind}: {said}"
    return f"{kind} at {at}: {re.sub(SYNTAX_PLACE, '', said)}"


def _owners(error: dict) -> set[str]:
    """The 8.2 parts an error concerns: named sinks first, then Spark's error class, then the query."""
    if error["stage"] in ("import-failed", "spark-failed"):
        return set(QUERY_PARTS)
    if error.get("sinks"):
        return parts_of(error["sinks"])
    message = error["error"].get("message", "")
    part = translate(message)[0] or (part_of_query(error["sink"], message) if error["stage"] == "query-failed" else None)
    return {part} if part else set(QUERY_PARTS)


def _sentence(error: dict) -> str:
    kind, (_, said) = error["error"].get("type", "Error"), translate(error["error"].get("message", ""))
    if error["stage"] == "import-failed":
        return f"stream_queries.py could not be imported: {located(kind, said, error['error'])}"
    if error["stage"] == "start-failed":
        return f"start_queries raised {located(kind, said, error['error'])}"
    if error["stage"] == "spark-failed":
        return f"Spark could not start: {said}"
    return f"a query stopped with an error: {said}"


def _blocked(ctx: Context) -> str | None:
    if ctx.queries.blocked is None:
        return None
    started = len(ctx.queries.queries)
    went_on = (f"the grader went on with the {started} queries it had started" if started
               else "it had started no query, so nothing ran")
    return (f"start_queries had not returned after {ctx.queries.blocked:g} s: it must start the queries and return "
            "them, not wait for them (call awaitTermination() only under `if __name__ == \"__main__\":`); " + went_on + ".")


def part_errors(ctx: Context, part: str) -> list[str]:
    """One sentence per error that concerns ``part``."""
    sentences = [_sentence(e) for e in ctx.queries.errors if part in _owners(e)] + ended(ctx, part)
    if ctx.queries.crashed:
        sentences.append(f"Your queries {ctx.queries.crashed}.")
    return list(dict.fromkeys(sentences))


def cause(ctx: Context, part: str) -> str | None:
    """Why ``part``'s queries could not run at all, told first: an import error, start_queries
    raising about this part, a crash, or start_queries never returning without starting anything."""
    fatal = [e for e in ctx.queries.errors if e["stage"] != "query-failed" and part in _owners(e)]
    if fatal:
        return _sentence(fatal[0])
    if ctx.queries.crashed:
        return f"Your queries {ctx.queries.crashed}."
    if ctx.queries.blocked is not None and not ctx.queries.queries:
        return _blocked(ctx)
    return None


def notes(ctx: Context, part: str) -> list[str]:
    """What a passing or failing check of ``part`` should also say: queries the grader started
    itself, a start_queries that blocked, a trigger that stopped a query early."""
    found = []
    if any(SINK_PARTS[s] == part for s in ctx.queries.fallback):
        found.append("start_queries raised before starting this part, so the grader started it from your read_*, "
                      "windowed_speed and join_streams functions with the contract's sinks")
    if (blocked := _blocked(ctx)) and ctx.queries.queries:
        found.append(blocked)
    return found


def ended(ctx: Context, part: str) -> list[str]:
    sentences = []
    for query in ctx.queries.ended:
        if part in (parts_of(query["sinks"]) or {part_of_query(query["sink"], "")}):
            how = f"with trigger({query['trigger']})" if query["trigger"] else "after stop() was called"
            sentences.append(f"A query of this part stopped early without an error, {how}: it processes what is in "
                             "input when it starts, then stops, so it never sees the later steps. A streaming query "
                             "here must keep running: remove the .trigger(...) (or the stop()).")
    return list(dict.fromkeys(sentences))


def unusable(ctx: Context, part: str, sink: str, rows: SinkRows | None) -> Finding | None:
    """Why ``sink`` cannot be compared at all, or None when its rows are there to compare."""
    errors = part_errors(ctx, part)
    first = cause(ctx, part)
    nothing = f"Nothing was written to {sink_path(sink)} during the replay."
    rest = [e for e in errors if e != first]
    if rows is None:
        return Finding(False, first or "None of your queries ran.", [nothing, *rest])
    if rows.problems:
        return Finding(False, f"{sink_path(sink)}: {rows.problems[0]}", [*rows.problems[1:3], *errors])
    if rows.files == 0 or not rows.table.num_rows:
        if rows.files:
            nothing = f"No row of the data was written to {sink_path(sink)} during the replay."
        if first or rest:
            return Finding(False, first or nothing, [nothing, *rest] if first else rest)
        started = ctx.queries.queries
        if started and not any(_writes(query, sink) for query in started):
            return Finding(False, nothing, [f"start_queries started {len(started)} queries and none of them writes to "
                                            f"{sink_path(sink)}: start the {part} query there too (README, For students)."])
        return Finding(False, nothing, [f"Your query ran without an error: does it read results_dir/stream/input/<kind>, "
                                        f"where each step is published, and write to {sink_path(sink)}?"])
    return None


def _writes(query: dict, sink: str) -> bool:
    """Whether ``query`` may write to ``sink``: its path says so, or it is a foreachBatch query (the
    windowed one, by the contract) or one the grader cannot place."""
    if query["sinks"]:
        return sink in query["sinks"]
    return sink == "windowed" or "ForeachBatch" not in query["sink"]
