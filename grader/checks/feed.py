"""8.1: the student's feed, judged from the tree it left and the file events it caused."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import PurePosixPath

from grader.checks import Context, Finding, clock
from grader.compare.rows import compare_rows
from grader.dataset import KINDS, SCHEMAS, list_steps, read_step
from grader.feed import STALE_FILES
from grader.tables import UnreadableOutput, iso_micros, read_rows, rows_of, timestamp_units

TIMING_SLACK = 0.05  # seconds: the fake clock moves 1 ms per read
START_WINDOW = 60.0  # a start instant later than this after the replay began is not "the start"
IDS = ("feed.cleanup", "feed.layout", "feed.rows", "feed.timestamp", "feed.timing", "feed.staging")


def _data_files(ctx: Context, folder: str) -> dict[tuple[str, str], list[PurePosixPath]]:
    """(kind, step) -> parquet files under results/stream/<folder>, relative to results."""
    root = ctx.feed.results
    found: dict[tuple[str, str], list[PurePosixPath]] = defaultdict(list)
    base = root / "stream" / folder
    for path in sorted(base.rglob("*.parquet")) if base.is_dir() else []:
        rel = PurePosixPath(path.relative_to(root).as_posix())
        if any(part.startswith(("_", ".")) for part in rel.parts):
            continue
        parts = rel.parts[2:]
        key = (parts[0], parts[1]) if len(parts) >= 3 else (parts[0], "") if parts else ("", "")
        found[key].append(rel)
    return found


def _by_destination(events: list[dict]) -> dict[PurePosixPath, list[int]]:
    """Where each event put something -> the events' positions, so a file's events are found
    without reading every event once per file (the real data: 800 files, ~2,000 events)."""
    index: dict[PurePosixPath, list[int]] = defaultdict(list)
    for position, event in enumerate(events):
        index[PurePosixPath(event["dst"])].append(position)
    return index


def _arrival(events: list[dict], index: dict[PurePosixPath, list[int]], file: PurePosixPath) -> dict | None:
    """The last event that put ``file`` where it is (itself or a folder holding it).

    ``shutil.copyfile`` opens its destination for writing after announcing the copy: that
    write belongs to the copy, so the copy stays the event that brought the file.
    """
    last = None
    for position in sorted(p for place in (file, *file.parents) for p in index.get(place, ())):
        event = events[position]
        if event["op"] == "mkdir":
            continue  # a folder made is not a file brought: see _made
        if event["op"] == "write" and last is not None and last["op"] == "copy" and last["dst"] == event["dst"]:
            continue
        last = event
    return last


def _made(events: list[dict], folder: PurePosixPath) -> float | None:
    """When ``folder`` (a step folder in input) was created, for files written straight into it."""
    times = [e["at"] for e in events if e["op"] == "mkdir" and PurePosixPath(e["dst"]) == folder and e["at"] is not None]
    return times[-1] if times else None


def stored_where(count: int, total: int) -> str:
    return "" if count == total else f" in {count} of {total} rows"


def findings(ctx: Context) -> dict[str, Finding]:
    feed = ctx.feed
    if feed.crashed:
        return {i: Finding(False, f"Your feed {feed.crashed}.") for i in IDS}
    preface = []
    if feed.error:
        where = f" ({feed.error['where'][-1]})" if feed.error["where"] else ""
        preface = [f"Your feed stopped with {feed.error['type']}: {(feed.error['message'].splitlines() or ['(no message)'])[0][:300]}{where}."]

    steps = list_steps(ctx.data_dir)
    seconds = {s.name: s.seconds for s in steps}
    expected_keys = [(kind, s.name) for s in steps for kind in KINDS if (ctx.data_dir / kind / s.name).is_dir()]
    stale_names = {PurePosixPath(p) for p in STALE_FILES}
    inputs = {k: [f for f in v if f not in stale_names] for k, v in _data_files(ctx, "input").items()}
    inputs = {k: v for k, v in inputs.items() if v}
    leftovers = [f for files in _data_files(ctx, "staging").values() for f in files if f not in stale_names]
    out: dict[str, Finding] = {}

    # cleanup
    stale_left = [str(p) for p in STALE_FILES if (feed.results / p).exists()]
    out["feed.cleanup"] = (
        Finding(False, "Files from an earlier run were still there after your feed ran.",
                [f"left behind: {p}" for p in stale_left] + ["Remove results/stream/staging and results/stream/input (shutil.rmtree) before the first step."])
        if stale_left else Finding(True, "Staging and input were cleared before the replay.")
    )

    # layout
    missing = [k for k in expected_keys if k not in inputs]
    unexpected = sorted(k for k in inputs if k not in expected_keys)
    details = [f"missing: input/{kind}/{step}" for kind, step in missing[:5]]
    details += [f"not a step folder of the data: input/{'/'.join(p for p in k if p)}" for k in unexpected[:3]]
    details += [f"left in staging: {f}" for f in leftovers[:2]]
    if leftovers:
        details.append("Once a step is published its files must leave staging: move the step folder into input "
                       "(os.rename or shutil.move) rather than copying it.")
    if missing or unexpected or leftovers:
        summary = f"{len(expected_keys) - len(missing)} of {len(expected_keys)} step folders reached input"
        summary += f"; {len(leftovers)} file(s) were left in staging." if leftovers else "."
        out["feed.layout"] = Finding(False, summary, details)
    else:
        out["feed.layout"] = Finding(True, f"All {len(expected_keys)} step folders of both kinds reached input; staging ended empty.")

    # rows and timestamps
    row_problems: list[str] = []
    units: set[str] = set()
    deltas: list[tuple[str, str, int]] = []  # (kind, step, timestamp - offset in µs)
    kept = stored_plus = 0  # rows whose timestamp is the data's stored one, or stored + offset
    stored_example: str | None = None
    compared = 0
    for kind, step in expected_keys:
        files = inputs.get((kind, step), [])
        if not files:
            continue
        paths = [feed.results / f for f in files]
        try:
            units |= timestamp_units(paths)
            got = read_rows(paths)
        except (UnreadableOutput, OSError, ValueError) as error:
            row_problems.append(f"input/{kind}/{step}: {error}")
            continue
        wanted = rows_of(read_step(ctx.data_dir, kind, step))
        columns = [c for c in SCHEMAS[kind].names if c != "timestamp"]
        absent = [c for c in SCHEMAS[kind].names if got and c not in got[0]]
        if absent:
            row_problems.append(f"input/{kind}/{step} lacks columns {', '.join(absent)}: keep every column of the data")
            continue
        diff = compare_rows(wanted, got, key=["uuid", "offset"], columns=columns)
        compared += 1
        if not diff.equal:
            row_problems.append(
                f"input/{kind}/{step}: expected {diff.expected} rows, got {diff.got}"
                f" ({len(diff.missing) + len(diff.differing)} missing or changed, {len(diff.unexpected)} unexpected)"
            )
        stored = {(r["uuid"], r["offset"]): r["timestamp"] for r in wanted if isinstance(r.get("timestamp"), str)}
        for row in got:
            if isinstance(row.get("timestamp"), str) and isinstance(row.get("offset"), float):
                stamp, offset_us = iso_micros(row["timestamp"]), round(row["offset"] * 1_000_000)
                deltas.append((kind, step, stamp - offset_us))
                original = stored.get((row.get("uuid"), row["offset"]))
                if original is not None:
                    stored_example = stored_example or original
                    kept += abs(stamp - iso_micros(original)) <= 1
                    stored_plus += abs(stamp - offset_us - iso_micros(original)) <= 1
    nanos = sorted(u for u in units if "ns" in u)
    naive = sorted(u for u in units if "tz=" not in u and "ns" not in u)
    summary = "Some steps do not hold the data's rows as Spark can read them."
    if naive:
        row_problems.insert(0, (
            f"timestamp is stored as {', '.join(naive)}, without a time zone: the data's timestamps are UTC "
            "(timestamp[us, tz=UTC]) and a naive one is read in the reader's session time zone; keep it UTC "
            "(datetime.now(timezone.utc), pd.Timestamp.now(tz='UTC'), or datetime64[us, UTC])"
        ))
    if nanos:
        summary = f"timestamp is stored as {', '.join(nanos)}, which Spark 4 cannot read."
        row_problems.insert(0, (
            "Spark 4 fails on nanosecond timestamps (PARQUET_TYPE_ILLEGAL): write microseconds, "
            "e.g. to_parquet(..., coerce_timestamps='us', allow_truncated_timestamps=True) or cast to datetime64[us, UTC]"
        ))
    if not compared and not row_problems:
        row_problems.append("no step folder of the data reached input, so there were no rows to check")
    out["feed.rows"] = (
        Finding(False, summary, row_problems[:5])
        if row_problems else Finding(True, f"All {compared} step folders hold exactly the data's rows.")
    )

    start_us = iso_micros(ctx.start.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    start_offset = 0.0
    stored_when = f" ({stored_example[:19].replace('T', ' ')} UTC for the first row)" if stored_example else ""
    if not deltas:
        out["feed.timestamp"] = Finding(False, "No rows reached input, so timestamp = start + offset could not be checked.")
    elif kept > len(deltas) / 2:
        out["feed.timestamp"] = Finding(False, f"timestamp still holds the data's stored values{stored_where(kept, len(deltas))}.", [
            f"The stored timestamp{stored_when} means nothing here: replace it with start + offset, where start is "
            "the clock's time when the replay began (taken once, before the loop)."])
    elif stored_plus > len(deltas) / 2:
        out["feed.timestamp"] = Finding(False, f"timestamp is the data's stored timestamp + offset{stored_where(stored_plus, len(deltas))}.", [
            f"The stored timestamp{stored_when} means nothing here: set timestamp = start + offset, where start is "
            "the clock's time when the replay began (taken once, before the loop), not the stored value."])
    else:
        common, _ = Counter(d for _, _, d in deltas).most_common(1)[0]
        off = [(k, s, d) for k, s, d in deltas if abs(d - common) > 1]
        base = common - start_us
        if off:
            per_step: dict[str, set[int]] = defaultdict(set)
            for _, step, d in deltas:
                per_step[step].add(round((d - start_us) / 1000))
            examples = [f"{step}: timestamp - offset = {clock(sorted(v)[0] / 1000)}" for step, v in sorted(per_step.items())[:4]]
            anew = len(per_step) > 1 and all(abs(min(v) / 1000 - seconds[step]) < 1.0 for step, v in per_step.items())
            if anew:
                examples.append("Each step's timestamps start when that step was published: the start instant is taken anew at every step.")
            out["feed.timestamp"] = Finding(False,
                f"timestamp - offset is not one instant: {len(off)} of {len(deltas)} rows differ from the rest.",
                examples + ["Take the start instant once, before the loop, and add each row's offset (seconds) to it."])
        elif not 0 <= base <= START_WINDOW * 1_000_000:
            when = datetime.fromtimestamp(common / 1e6, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
            hint = " That is the offset alone: add the start instant to it." if abs(common) <= 1 else ""
            out["feed.timestamp"] = Finding(False, f"timestamp - offset is {when} UTC, not the simulation's start ({ctx.start:%Y-%m-%d %H:%M:%S} UTC).{hint}",
                ["Set timestamp = start + offset, where start is the clock's time when the replay began."])
        else:
            # Steps are due at start + t; the start is only known when every row agrees on it.
            start_offset = base / 1e6
            out["feed.timestamp"] = Finding(True, f"Every row's timestamp is start + offset (start = {clock(base / 1e6)} on the replay clock).")

    # timing and staging, from the file events
    timing_problems: list[str] = []
    staging_problems: dict[str, list[PurePosixPath]] = defaultdict(list)  # what happened -> files
    arrivals: list[tuple[float, str, str]] = []
    names = [s.name for s in steps]
    by_destination = _by_destination(feed.events)
    for kind, step in expected_keys:
        files = inputs.get((kind, step), [])
        if not files:
            continue
        events = [_arrival(feed.events, by_destination, f) for f in files]
        for file, event in zip(files, events):
            if event is None:
                staging_problems["written straight into input"].append(file)
            elif event["op"] == "copy":
                staging_problems["copied into input, not moved"].append(file)
            elif event["op"] == "write":
                staging_problems["written straight into input"].append(file)
            elif not (event["src"] or "").startswith("stream/staging/"):
                staging_problems[f"moved into input from {event['src'] or 'outside the results folder'}, not from staging"].append(file)
        times = [e["at"] for e in events if e is not None and e["at"] is not None]
        made = _made(feed.events, PurePosixPath("stream/input") / kind / step)
        if len(times) < len(files) and made is not None and all(e is None or e["op"] == "write" for e in events):
            times = [made]  # written straight into input: timed by the folder it was written into
        elif len(times) < len(files):
            timing_problems.append(f"could not tell when input/{kind}/{step} arrived: the grader times a step by the move "
                                   "that brings it from staging, and this one was not moved there")
            continue
        arrivals.append((max(times), kind, step))
    early = late = 0
    for at, kind, step in arrivals:
        due = start_offset + seconds[step]
        index = names.index(step)
        next_due = start_offset + (seconds[names[index + 1]] if index + 1 < len(names) else seconds[step] + 30.0)
        if at < due - TIMING_SLACK:
            early += 1
            timing_problems.append(f"{kind}/{step} reached input at {clock(at)}, {due - at:.1f} s before its time ({clock(due)})")
        elif at > next_due + TIMING_SLACK:
            late += 1
            timing_problems.append(f"{kind}/{step} reached input at {clock(at)}, after the next step was due ({clock(next_due)})")
    order = [step for _, _, step in sorted(arrivals)]
    if order != sorted(order, key=names.index):
        timing_problems.insert(0, f"steps reached input in this order: {', '.join(dict.fromkeys(order))}")
    if timing_problems or not arrivals:
        hint = "Sleep until start + t before publishing step t (not t seconds after the previous step)."
        counts = [f"{n} step folder(s) arrived {what}" for n, what in ((early, "before their time"), (late, "after the next step was due")) if n]
        summary = f"{'; '.join(counts)}." if counts else "Steps were not published in time order at their time."
        out["feed.timing"] = Finding(False, summary, (timing_problems or ["no step reached input"])[:4] + [hint])
    else:
        out["feed.timing"] = Finding(True, f"{len(arrivals)} step folders arrived in time order, each once the clock had passed t.")
    if staging_problems or not arrivals:
        told = [f"{files[0]} was {what}" + (f" (and {len(files) - 1} more files)" if len(files) > 1 else "")
                for what, files in staging_problems.items()]
        out["feed.staging"] = Finding(False, "Not every file reached input by a move from staging.", (told or ["no step reached input"])[:4] + [
            "Write each step under results/stream/staging, then move it with os.rename or shutil.move: a move is atomic, "
            "so Spark never reads a half-written file."])
    else:
        out["feed.staging"] = Finding(True, "Every file was written to staging and moved into input.")

    if preface:
        for finding in out.values():
            finding.details = preface + finding.details
    return out
