"""8.1: the student's feed, judged from the tree it left and the file events it caused."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone
from pathlib import PurePosixPath

from grader.checks.base import Context, Finding, check, clock
from grader.checks.feed_tree import (
    START_WINDOW,
    arrival,
    by_destination,
    common_start,
    made,
    rows,
    start_micros,
    start_offset,
    tree,
)
from grader.checks.queries import located
from grader.contract import STALE_FILES

TIMING_SLACK = 0.05  # seconds: the fake clock moves 1 ms per read
MOVE = ("Write each step under results/stream/staging, then move it with os.rename or shutil.move: a move is atomic, "
        "so Spark never reads a half-written file.")


def cause(ctx: Context) -> str | None:
    """Why the feed did not do its work, told first: it crashed, was stopped, or raised."""
    if ctx.feed.crashed:
        return f"Your feed {ctx.feed.crashed}."
    error = ctx.feed.error
    if error is None:
        return None
    first = (error["message"].splitlines() or ["(no message)"])[0][:300]
    return f"Your feed stopped with {located(error['type'], first, error).rstrip('.')}."


def _crashed(ctx: Context) -> Finding | None:
    return Finding(False, f"Your feed {ctx.feed.crashed}.") if ctx.feed.crashed else None


def _first_step_at(ctx: Context) -> float | None:
    """When the feed first wrote, copied or moved a step of the data into staging or input."""
    stale = {PurePosixPath(p).parent for p in STALE_FILES}
    times = [e["at"] for e in ctx.feed.events
             if e["op"] != "remove" and e["at"] is not None and PurePosixPath(e["dst"]).parts[:1] == ("stream",)
             and len(PurePosixPath(e["dst"]).parts) >= 4 and PurePosixPath(*PurePosixPath(e["dst"]).parts[:4]) not in stale]
    return min(times) if times else None


@check("feed.cleanup")
def cleanup(ctx: Context) -> Finding:
    if crashed := _crashed(ctx):
        return crashed
    fix = "Remove results/stream/staging and results/stream/input (shutil.rmtree) before the first step."
    left = [p for p in STALE_FILES if (ctx.feed.results / p).exists()]
    if left:
        return Finding(False, "Files from an earlier run were still there after your feed ran.",
                       [f"left behind: {p}" for p in left] + [fix])
    first = _first_step_at(ctx)
    late = []
    for stale in map(PurePosixPath, STALE_FILES):
        removals = [e["at"] for e in ctx.feed.events if e["op"] == "remove" and e["at"] is not None
                    and PurePosixPath(e["dst"]) in (stale, *stale.parents)]
        if removals and first is not None and min(removals) > first + TIMING_SLACK:
            late.append(f"{stale} was removed at {clock(min(removals))}, after the first step was written ({clock(first)})")
    if late:
        return Finding(False, "Files from an earlier run were removed only after the replay had begun.", [*late, fix])
    return Finding(True, "Staging and input were cleared before the first step.")


@check("feed.layout")
def layout(ctx: Context) -> Finding:
    if crashed := _crashed(ctx):
        return crashed
    found = tree(ctx)
    missing = [k for k in found.expected if k not in found.inputs]
    unexpected = sorted(k for k in found.inputs if k not in found.expected)
    details = [f"missing: input/{kind}/{step}" for kind, step in missing[:5]]
    details += [f"not a step folder of the data: input/{'/'.join(p for p in k if p)}" for k in unexpected[:3]]
    details += [f"left in staging: {f}" for f in found.leftovers[:2]]
    if found.leftovers:
        details.append("Once a step is published its files must leave staging: move the step folder into input "
                       "(os.rename or shutil.move) rather than copying it.")
    if not (missing or unexpected or found.leftovers):
        return Finding(True, f"All {len(found.expected)} step folders of both kinds reached input; staging ended empty.")
    summary = f"{len(found.expected) - len(missing)} of {len(found.expected)} step folders reached input"
    summary += f"; {len(found.leftovers)} file(s) were left in staging." if found.leftovers else "."
    return Finding(False, summary, details)


@check("feed.rows")
def rows_(ctx: Context) -> Finding:
    if crashed := _crashed(ctx):
        return crashed
    found = rows(ctx)
    problems = list(found.problems)
    nanos = sorted(u for u in found.units if "ns" in u)
    naive = sorted(u for u in found.units if "tz=" not in u and "ns" not in u)
    summary = "Some steps do not hold the data's rows as Spark can read them."
    if naive:
        problems.insert(0, (
            f"timestamp is stored as {', '.join(naive)}, without a time zone: the data's timestamps are UTC "
            "(timestamp[us, tz=UTC]) and a naive one is read in the reader's session time zone; keep it UTC "
            "(datetime.now(timezone.utc), pd.Timestamp.now(tz='UTC'), or datetime64[us, UTC])"
        ))
    if nanos:
        summary = f"timestamp is stored as {', '.join(nanos)}, which Spark 4 cannot read."
        problems.insert(0, (
            "Spark 4 fails on nanosecond timestamps (PARQUET_TYPE_ILLEGAL): write microseconds, "
            "e.g. to_parquet(..., coerce_timestamps='us', allow_truncated_timestamps=True) or cast to datetime64[us, UTC]"
        ))
    if not found.compared and not problems:
        problems.append("no step folder of the data reached input, so there were no rows to check")
    if problems:
        return Finding(False, summary, problems[:5])
    return Finding(True, f"All {found.compared} step folders hold exactly the data's rows.")


def _stored_where(count: int, total: int) -> str:
    return "" if count == total else f" in {count} of {total} rows"


@check("feed.timestamp")
def timestamp(ctx: Context) -> Finding:
    if crashed := _crashed(ctx):
        return crashed
    found = rows(ctx)
    deltas, common = found.deltas, common_start(ctx)
    stored_when = f" ({found.stored_example[:19].replace('T', ' ')} UTC for the first row)" if found.stored_example else ""
    if common is None:
        return Finding(False, "No rows reached input, so timestamp = start + offset could not be checked.")
    if found.kept > len(deltas) / 2:
        return Finding(False, f"timestamp still holds the data's stored values{_stored_where(found.kept, len(deltas))}.", [
            f"The stored timestamp{stored_when} means nothing here: replace it with start + offset, where start is "
            "the clock's time when the replay began (taken once, before the loop)."])
    if found.stored_plus > len(deltas) / 2:
        return Finding(False, f"timestamp is the data's stored timestamp + offset{_stored_where(found.stored_plus, len(deltas))}.", [
            f"The stored timestamp{stored_when} means nothing here: set timestamp = start + offset, where start is "
            "the clock's time when the replay began (taken once, before the loop), not the stored value."])
    off = deltas.off(common)
    start_us = start_micros(ctx)
    if off:
        per_step = {step: round((d - start_us) / 1000) for step, d in deltas.earliest().items()}  # ms after the start
        examples = [f"{step}: timestamp - offset = {clock(ms / 1000)}" for step, ms in sorted(per_step.items())[:4]]
        seconds = tree(ctx).seconds
        if len(per_step) > 1 and all(abs(ms / 1000 - seconds[step]) < 1.0 for step, ms in per_step.items()):
            examples.append("Each step's timestamps start when that step was published: the start instant is taken anew at every step.")
        return Finding(False, f"timestamp - offset is not one instant: {off} of {len(deltas)} rows differ from the rest.",
                       examples + ["Take the start instant once, before the loop, and add each row's offset (seconds) to it."])
    base = common - start_us
    if not 0 <= base <= START_WINDOW * 1_000_000:
        when = datetime.fromtimestamp(common / 1e6, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        hint = " That is the offset alone: add the start instant to it." if abs(common) <= 1 else ""
        return Finding(False, f"timestamp - offset is {when} UTC, not the simulation's start ({ctx.start:%Y-%m-%d %H:%M:%S} UTC).{hint}",
                       ["Set timestamp = start + offset, where start is the clock's time when the replay began."])
    return Finding(True, f"Every row's timestamp is start + offset (start = {clock(base / 1e6)} on the replay clock).")


def _arrivals(ctx: Context) -> tuple[list[tuple[float, str, str]], list[str], dict[str, list[PurePosixPath]]]:
    """(when each step folder arrived, timing problems, staging problems: what happened -> files)."""

    def make() -> tuple[list[tuple[float, str, str]], list[str], dict[str, list[PurePosixPath]]]:
        found, events = tree(ctx), ctx.feed.events
        index = by_destination(events)
        arrivals: list[tuple[float, str, str]] = []
        timing: list[str] = []
        staging: dict[str, list[PurePosixPath]] = defaultdict(list)
        for kind, step in found.expected:
            files = found.inputs.get((kind, step), [])
            if not files:
                continue
            brought = [arrival(events, index, f) for f in files]
            for file, event in zip(files, brought):
                if event is None or event["op"] == "write":
                    staging["written straight into input"].append(file)
                elif event["op"] == "copy":
                    staging["copied into input, not moved"].append(file)
                elif not (event["src"] or "").startswith("stream/staging/"):
                    staging[f"moved into input from {event['src'] or 'outside the results folder'}, not from staging"].append(file)
            times = [e["at"] for e in brought if e is not None and e["at"] is not None]
            folder_made = made(events, index, PurePosixPath("stream/input") / kind / step)
            if len(times) < len(files) and folder_made is not None and all(e is None or e["op"] == "write" for e in brought):
                times = [folder_made]  # written straight into input: timed by the folder it was written into
            elif len(times) < len(files):
                timing.append(f"could not tell when input/{kind}/{step} arrived: the grader times a step by the move "
                              "that brings it from staging, and this one was not moved there")
                continue
            arrivals.append((max(times), kind, step))
        return arrivals, timing, dict(staging)

    return ctx.memo("feed.arrivals", make)


@check("feed.timing")
def timing(ctx: Context) -> Finding:
    if crashed := _crashed(ctx):
        return crashed
    arrivals, problems, _ = _arrivals(ctx)
    problems = list(problems)
    found, offset = tree(ctx), start_offset(ctx)
    early = late = 0
    for at, kind, step in arrivals:
        due = offset + found.seconds[step]
        index = found.names.index(step)
        next_due = offset + (found.seconds[found.names[index + 1]] if index + 1 < len(found.names) else found.seconds[step] + 30.0)
        if at < due - TIMING_SLACK:
            early += 1
            problems.append(f"{kind}/{step} reached input at {clock(at)}, {due - at:.1f} s before its time ({clock(due)})")
        elif at > next_due + TIMING_SLACK:
            late += 1
            problems.append(f"{kind}/{step} reached input at {clock(at)}, after the next step was due ({clock(next_due)})")
    order = [step for _, _, step in sorted(arrivals)]
    if order != sorted(order, key=found.names.index):
        problems.insert(0, f"steps reached input in this order: {', '.join(dict.fromkeys(order))}")
    if not problems and arrivals:
        return Finding(True, f"{len(arrivals)} step folders arrived in time order, each once the clock had passed t.")
    counts = [f"{n} step folder(s) arrived {what}" for n, what in ((early, "before their time"), (late, "after the next step was due")) if n]
    summary = f"{'; '.join(counts)}." if counts else "Steps were not published in time order at their time."
    return Finding(False, summary, (problems or ["no step reached input"])[:4]
                   + ["Sleep until start + t before publishing step t (not t seconds after the previous step)."])


@check("feed.staging")
def staging(ctx: Context) -> Finding:
    if crashed := _crashed(ctx):
        return crashed
    arrivals, _, problems = _arrivals(ctx)
    if not problems and arrivals:
        return Finding(True, "Every file was written to staging and moved into input.")
    told = [f"{files[0]} was {what}" + (f" (and {len(files) - 1} more files)" if len(files) > 1 else "")
            for what, files in problems.items()]
    return Finding(False, "Not every file reached input by a move from staging.", (told or ["no step reached input"])[:4] + [MOVE])
