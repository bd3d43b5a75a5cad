"""8.1: the student's feed, judged from the tree it left and the file events it caused."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import PurePosixPath

from grader.checks import Context, Finding, clock
from grader.compare.rows import compare_rows
from grader.dataset import KINDS, SCHEMAS, list_steps, read_step
from grader.feed import STALE_FILES
from grader.tables import UnreadableOutput, read_rows, rows_of, timestamp_units

TIMING_SLACK = 0.05  # seconds: the fake clock moves 1 ms per read
START_WINDOW = 60.0  # a start instant later than this after the replay began is not "the start"
IDS = ("feed.cleanup", "feed.layout", "feed.rows", "feed.timestamp", "feed.timing", "feed.staging")


def _parse_iso_micros(value: str) -> int:
    instant = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    return int(instant.timestamp()) * 1_000_000 + instant.microsecond


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


def _arrival(events: list[dict], file: PurePosixPath) -> dict | None:
    """The last event that put ``file`` where it is (itself or a folder holding it)."""
    last = None
    for event in events:
        dst = PurePosixPath(event["dst"])
        if dst == file or dst in file.parents:
            last = event
    return last


def findings(ctx: Context) -> dict[str, Finding]:
    feed = ctx.feed
    if feed.crashed:
        return {i: Finding(False, f"Your feed was {feed.crashed}.") for i in IDS}
    preface = []
    if feed.error:
        where = f" ({feed.error['where'][-1]})" if feed.error["where"] else ""
        preface = [f"Your feed stopped with {feed.error['type']}: {feed.error['message'].splitlines()[0][:300]}{where}."]

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
    details += [f"left in staging: {f}" for f in leftovers[:3]]
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
        for row in got:
            if isinstance(row.get("timestamp"), str) and isinstance(row.get("offset"), float):
                deltas.append((kind, step, _parse_iso_micros(row["timestamp"]) - round(row["offset"] * 1_000_000)))
    bad_units = sorted(u for u in units if "ns" in u or "tz=" not in u)
    if bad_units:
        row_problems.insert(0, (
            f"timestamp is stored as {', '.join(bad_units)}: Spark 4 reads only microsecond (or millisecond) UTC "
            "timestamps; write with coerce_timestamps='us' and a UTC time zone (datetime64[us, UTC])"
        ))
    if not compared and not row_problems:
        row_problems.append("no step folder of the data reached input, so there were no rows to check")
    out["feed.rows"] = (
        Finding(False, "Some steps do not hold the data's rows as Spark can read them.", row_problems[:5])
        if row_problems else Finding(True, f"All {compared} step folders hold exactly the data's rows.")
    )

    start_us = _parse_iso_micros(ctx.start.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    start_offset = 0.0
    if not deltas:
        out["feed.timestamp"] = Finding(False, "No rows reached input, so timestamp = start + offset could not be checked.")
    else:
        common, _ = Counter(d for _, _, d in deltas).most_common(1)[0]
        off = [(k, s, d) for k, s, d in deltas if abs(d - common) > 1]
        base = common - start_us
        start_offset = base / 1e6
        if off:
            per_step: dict[str, set[int]] = defaultdict(set)
            for _, step, d in deltas:
                per_step[step].add(round((d - start_us) / 1000))
            examples = [f"{step}: timestamp - offset = {clock(sorted(v)[0] / 1000)}" for step, v in sorted(per_step.items())[:4]]
            out["feed.timestamp"] = Finding(False,
                f"timestamp - offset is not one instant: {len(off)} of {len(deltas)} rows differ from the rest.",
                examples + ["Take the start instant once, before the loop, and add each row's offset (seconds) to it."])
        elif not 0 <= base <= START_WINDOW * 1_000_000:
            when = datetime.fromtimestamp(common / 1e6, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
            hint = (" That is the data's stored timestamp: replace it, do not add to it." if common < 10**14 else "")
            out["feed.timestamp"] = Finding(False, f"timestamp - offset is {when} UTC, not the simulation's start ({ctx.start:%Y-%m-%d %H:%M:%S} UTC).{hint}",
                ["Set timestamp = start + offset, where start is the clock's time when the replay began."])
            start_offset = 0.0
        else:
            out["feed.timestamp"] = Finding(True, f"Every row's timestamp is start + offset (start = {clock(base / 1e6)} on the replay clock).")

    # timing and staging, from the file events
    timing_problems: list[str] = []
    staging_problems: list[str] = []
    arrivals: list[tuple[float, str, str]] = []
    names = [s.name for s in steps]
    for kind, step in expected_keys:
        files = inputs.get((kind, step), [])
        if not files:
            continue
        events = [_arrival(feed.events, f) for f in files]
        for file, event in zip(files, events):
            if event is None:
                staging_problems.append(f"{file} was written straight into input")
            elif event["op"] == "copy":
                staging_problems.append(f"{file} was copied into input, not moved")
            elif event["op"] == "write":
                staging_problems.append(f"{file} was written straight into input")
            elif not (event["src"] or "").startswith("stream/staging/"):
                staging_problems.append(f"{file} was moved into input from {event['src'] or 'outside the results folder'}, not from staging")
        times = [e["at"] for e in events if e is not None and e["at"] is not None]
        if len(times) < len(files):
            timing_problems.append(f"could not tell when input/{kind}/{step} arrived: it was not moved there")
            continue
        arrivals.append((max(times), kind, step))
    for at, kind, step in arrivals:
        due = start_offset + seconds[step]
        index = names.index(step)
        next_due = start_offset + (seconds[names[index + 1]] if index + 1 < len(names) else seconds[step] + 30.0)
        if at < due - TIMING_SLACK:
            timing_problems.append(f"{kind}/{step} reached input at {clock(at)}, {due - at:.1f} s before its time ({clock(due)})")
        elif at > next_due + TIMING_SLACK:
            timing_problems.append(f"{kind}/{step} reached input at {clock(at)}, after the next step was due ({clock(next_due)})")
    order = [step for _, _, step in sorted(arrivals)]
    if order != sorted(order, key=names.index):
        timing_problems.insert(0, f"steps reached input in this order: {', '.join(dict.fromkeys(order))}")
    if timing_problems or not arrivals:
        hint = "Sleep until start + t before publishing step t (not t seconds after the previous step)."
        out["feed.timing"] = Finding(False, "Steps were not published in time order at their time.", (timing_problems or ["no step reached input"])[:4] + [hint])
    else:
        out["feed.timing"] = Finding(True, f"{len(arrivals)} step folders arrived in time order, each once the clock had passed t.")
    if staging_problems or not arrivals:
        out["feed.staging"] = Finding(False, "Not every file reached input by a move from staging.", (staging_problems or ["no step reached input"])[:4] + [
            "Write each step under results/stream/staging, then move it with os.rename or shutil.move: a move is atomic, "
            "so Spark never reads a half-written file."])
    else:
        out["feed.staging"] = Finding(True, "Every file was written to staging and moved into input.")

    if preface:
        for finding in out.values():
            finding.details = preface + finding.details
    return out
