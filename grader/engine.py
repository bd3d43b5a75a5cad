"""Grade one submission folder: sandbox -> replay -> outputs -> comparison -> rubric -> a Grade.

Both parts run at once, each in a sandboxed child (``grader.sandbox``); their records are read
back as plain data (``grader.observations``) and judged (``grader.judge``). Nothing here prints
but the one-time note of what the sandbox-user isolation changed.
"""

from __future__ import annotations

import functools
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path

from grader import paths
from grader.contract import CONTRACT_FILES, FEED_PART, KINDS, OUTPUTS, START
from grader.dataset import use_pack
from grader.golden import Expected
from grader.judge import Judged, context, judge, merged
from grader.observations import FeedRecord, QueriesRecord, read_feed, read_queries
from grader.replay import class_archive
from grader.replay.schedule import read_folders, replay_steps
from grader.rubric import Rubric
from grader.sandbox.isolation import MODES, Isolation, choose, lock_down
from grader.sandbox.run import ChildRun, Limits, run_part
from grader.sandbox.users import take_slot
from grader.sandbox.workdir import PACKED, prepare, stage
from grader.verdict import Grade, rejected


def limits_for(data_dir: Path, part_seconds: float | None = None, jobs: int = 1, expected: Expected | None = None) -> Limits:
    """The given time limit per part, or one that follows the dataset: a JVM start, then 10 s per
    replay step (each costs four or five micro-batches) and 0.5 s per 1,000 rows (what the
    reference's join and sinks cost on the original release's size), at least 180 s; times
    ``jobs``, since gradings side by side share the cores. The fixtures: 180 s; the course's copy:
    ~250 s; the original release's size: ~380 s. ``expected`` tells the size without reading the
    data (its manifest lists the replay steps, its simple sinks hold every row): at the original's
    size that read is 2 s before the children can start."""
    if part_seconds is None:
        if expected is not None and "replay_steps" in expected.manifest:
            steps = len(expected.manifest["replay_steps"])
            rows = sum(expected[f"simple-{kind}"].num_rows for kind in KINDS)
        else:
            folders, tables = read_folders(data_dir)
            steps = len(replay_steps(folders, tables))
            rows = sum(table.num_rows for kinds in tables.values() for table in kinds.values())
        part_seconds = max(180.0, 120.0 + 10.0 * steps + rows / 2000)
        part_seconds = round(part_seconds * max(1, jobs))
    return replace(Limits(), part_seconds=part_seconds)


@dataclass
class Run:
    """The records of one sandboxed run of a submission."""

    feed: FeedRecord
    queries: QueriesRecord
    children: list[ChildRun]
    data_dir: Path  # the original: the sandbox's copy is the student's to spoil
    isolation: Isolation
    notes: list[str] = field(default_factory=list)  # about the submission's files (links left out)


@functools.cache
def _locked_down() -> None:
    """Once per process, where children run as sandbox users: the secrets unreadable to them."""
    changed = lock_down(paths.secrets())
    if changed:
        print(f"sandbox-user isolation: made {len(changed)} path(s) unreadable to other users (chmod o-rwx): "
              + ", ".join(changed[:6]) + (" ..." if len(changed) > 6 else ""), file=sys.stderr)


@contextmanager
def run_submission(folder: Path, data_dir: Path, limits: Limits, isolation: Isolation | None = None,
                   on_feed: Callable[[FeedRecord], None] | None = None, packed: Path | None = None) -> Iterator[Run]:
    """Run both parts of ``folder`` in sandboxed children, at once; the work folder lives for the block.
    The children may not read the grader's secrets (``paths.secrets``), as far as ``isolation`` allows.
    ``on_feed`` is called with the feed's record as soon as it has one, while the queries still run;
    ``packed``, the data's pack, is copied for the replay to read the rows from."""
    isolation = isolation or choose()
    work = Path(tempfile.mkdtemp(prefix="dsc650-grade-"))
    try:
        with take_slot() if isolation.mode == "sandbox-user" else nullcontext() as slot:
            if slot is not None:
                _locked_down()
            # Linked only where the children see the data through a read-only mount.
            read_only = isolation.mode in ("namespaces", "user-namespaces")
            submission, data, notes = prepare(work, folder, data_dir, slot, packed, link=read_only)
            archive = class_archive.current()
            specs = {part: {"memory_bytes": limits.memory_bytes(part), "start_seconds": limits.start_seconds,
                            "class_archive": str(archive) if archive and part == "queries" else None,
                            "packed": str(work / PACKED) if packed and part == "queries" else None}
                     for part in OUTPUTS}
            stage(work, submission, data, START, list(OUTPUTS), specs, slot)
            secret = paths.secrets()
            # The parts share nothing but the read-only data, so they run at once: the feed (a few
            # seconds of Python) hides inside the queries child's replay, and so does its judging.
            def feed_part() -> tuple[ChildRun, FeedRecord]:
                child = run_part("feed", work, isolation, limits, slot, secret)
                record = read_feed(child, limits.part_seconds)
                if on_feed is not None:
                    on_feed(record)
                return child, record

            with ThreadPoolExecutor(max_workers=len(OUTPUTS), thread_name_prefix="part") as pool:
                feed_job = pool.submit(feed_part)
                queries_job = pool.submit(run_part, "queries", work, isolation, limits, slot, secret)
                (feed_run, feed), queries_run = feed_job.result(), queries_job.result()
            yield Run(feed, read_queries(queries_run, limits.part_seconds), [feed_run, queries_run], data_dir,
                      isolation, notes)
    finally:
        shutil.rmtree(work, ignore_errors=True)


@functools.cache
def _use_pack(data_dir: Path, folder: Path) -> bool:
    return use_pack(data_dir, folder)


def packed_for(data_dir: Path, expected: Expected) -> Path | None:
    """The data's pack in the cache (``grader.reference.packed`` made it), now serving this
    process's reads of the data too; None where there is none (the rows are then read from the files)."""
    data_hash = expected.manifest.get("data_sha256")
    folder = paths.pack_dir(data_hash) if isinstance(data_hash, str) else None
    return folder if folder is not None and _use_pack(Path(data_dir), folder) else None


def grade_folder(folder: Path, data_dir: Path, expected: Expected, rubric: Rubric, limits: Limits,
                 student: str, source: str, isolation: Isolation | None = None) -> Grade:
    """Grade a submission folder that holds the contract's files (intake has found it)."""
    grade = Grade(student=student, source=source, status="graded", max_score=rubric.max_score)
    absent = [name for name in CONTRACT_FILES if not (Path(folder) / name).is_file()]
    if len(absent) == len(CONTRACT_FILES):
        return rejected(student, source, "The submission holds neither stream_data.py nor stream_queries.py.", rubric)
    feed_parts = [part for part in rubric.parts if part == FEED_PART]
    early: list[Judged] = []

    def judge_feed(record: FeedRecord) -> None:  # the feed's checks read only its record, its files and the data
        early.append(judge(context(data_dir, record, QueriesRecord(Path(".")), expected), rubric, feed_parts))

    packed = packed_for(data_dir, expected)
    with run_submission(folder, data_dir, limits, isolation, judge_feed if feed_parts else None, packed) as run:
        rest = [part for part in rubric.parts if part not in feed_parts]
        later = judge(context(run.data_dir, run.feed, run.queries, expected), rubric, rest)
        grade.checks, grade.causes, grade.part_notes = merged(rubric, *early, later)
        grade.seconds = round(max(c.seconds for c in run.children), 3)  # the parts run at once: the longest is the grading's
        grade.isolation = max((c.isolation for c in run.children), key=MODES.index)  # the weaker, if they differed
        grade.notes += run.notes + run.queries.overrides
        for child in run.children:
            grade.notes += child.notes
            if child.output_dropped:
                grade.notes.append(f"{child.part}: {child.output_dropped:,} bytes of output were cut")
    grade.notes += [f"{name} is missing from the submission" for name in absent]
    grade.notes = list(dict.fromkeys(grade.notes))
    return grade
