"""Grade one submission folder: sandbox -> replay -> outputs -> comparison -> rubric.

The output is a ``Grade``: plain data that every report (gradebook, results.json, feedback,
JUnit, the pytest summary) is written from. Nothing here prints.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from grader import class_archive
from grader.checks import CHECK_IDS, Context, Finding
from grader.checks import feed as feed_checks
from grader.checks import joined as joined_checks
from grader.checks import simple as simple_checks
from grader.checks import windowed as windowed_checks
from grader.dataset import list_steps
from grader.golden import Expected, cache_root
from grader.observations import FeedRecord, QueriesRecord, read_feed, read_queries
from grader.outputs import Outputs, read_outputs, ride_to_uuid
from grader.rubric import Rubric
from grader.runner import OUTPUTS
from grader.sandbox import PROJECT, ChildRun, Limits, prepare, run_part, stage
from grader.submission import CONTRACT_FILES

START = datetime(2026, 1, 1, tzinfo=timezone.utc)  # the replay clock's start: windows align to it
CHECK_MODULES = (feed_checks, simple_checks, windowed_checks, joined_checks)


def limits_for(data_dir: Path, part_seconds: float | None = None) -> Limits:
    """The given time limit per part, or one that grows with the dataset: a generous 3 s per
    micro-batch step on top of a JVM start (the bundled fixtures: 300 s; the real data: 400 s)."""
    if part_seconds is None:
        part_seconds = max(300.0, 120.0 + 8.0 * len(list_steps(data_dir)))
    return replace(Limits(), part_seconds=part_seconds)


@dataclass
class CheckResult:
    id: str
    part: str
    title: str
    score: float
    max_score: float
    passed: bool
    summary: str
    details: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Grade:
    """One submission's verdict. ``status``: graded, rejected (never ran) or error (grader fault)."""

    student: str
    source: str
    status: str
    reason: str = ""
    checks: list[CheckResult] = field(default_factory=list)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    max_score: float = 0.0

    @property
    def score(self) -> float:
        return sum(c.score for c in self.checks)

    def part_scores(self, rubric: Rubric) -> dict[str, tuple[float, float]]:
        scores = {part: (0.0, 0.0) for part in rubric.parts}
        for check in self.checks:
            got, top = scores[check.part]
            scores[check.part] = (got + check.score, top + check.max_score)
        return scores


@dataclass
class Run:
    """The records of one sandboxed run of a submission."""

    feed: FeedRecord
    queries: QueriesRecord
    children: list[ChildRun]
    data_dir: Path


@contextmanager
def run_submission(folder: Path, data_dir: Path, limits: Limits, keep: Path | None = None) -> Iterator[Run]:
    """Run both parts of ``folder`` in sandboxed children, at once; the work folder lives for the block."""
    work = Path(tempfile.mkdtemp(prefix="dsc650-grade-"))
    try:
        submission, data = prepare(work, folder, data_dir)
        hidden = [PROJECT / "fixtures" / "expected", cache_root()]
        # The parts share nothing but the read-only data, so they run at once: the feed (a few
        # seconds of Python) hides inside the queries child's JVM start.
        stage(work, submission, data, START, limits, list(OUTPUTS), class_archive.current())
        with ThreadPoolExecutor(max_workers=len(OUTPUTS), thread_name_prefix="part") as pool:
            feed_job = pool.submit(run_part, "feed", work, submission, data, START, limits, hidden=hidden, staged=True)
            queries_job = pool.submit(run_part, "queries", work, submission, data, START, limits, hidden=hidden, staged=True)
            feed_run, queries_run = feed_job.result(), queries_job.result()
        yield Run(
            feed=read_feed(feed_run, limits.part_seconds),
            queries=read_queries(queries_run, limits.part_seconds),
            children=[feed_run, queries_run],
            data_dir=data_dir,  # the original: the sandbox's copy is the student's to spoil
        )
    finally:
        if keep is not None:
            shutil.copytree(work, keep, dirs_exist_ok=True, ignore=shutil.ignore_patterns("data", "spark"))
        shutil.rmtree(work, ignore_errors=True)


def missing_files(folder: Path) -> list[str]:
    return [name for name in CONTRACT_FILES if not (Path(folder) / name).is_file()]


def score(findings: dict[str, Finding], rubric: Rubric) -> list[CheckResult]:
    results = []
    for item in rubric.items:
        finding = findings.get(item.id) or Finding(False, "This check did not run.")
        results.append(CheckResult(
            id=item.id, part=item.part, title=item.title,
            score=item.points if finding.passed else 0.0, max_score=item.points,
            passed=finding.passed, summary=finding.summary, details=finding.details, notes=finding.notes,
        ))  # fmt: skip
    return results


def judge(run: Run, expected: Expected, rubric: Rubric, start: datetime = START) -> list[CheckResult]:
    routes = ride_to_uuid(run.data_dir)
    outputs: Outputs | None = read_outputs(run.queries, routes) if run.queries.steps else None
    ctx = Context(run.data_dir, start, run.feed, run.queries, outputs, expected, routes)
    findings: dict[str, Finding] = {}
    for module in CHECK_MODULES:
        findings.update(module.findings(ctx))
    assert set(findings) <= CHECK_IDS
    results = score(findings, rubric)
    for check in results:
        if check.part in run.queries.fallback:
            check.notes.append("start_queries raised before starting this part, so the grader started it from your "
                               "read_*, windowed_speed and join_streams functions with the contract's sinks")
    return results


def rejected(student: str, source: str, reason: str, rubric: Rubric, status: str = "rejected") -> Grade:
    """A verdict without a run: every check at zero, each saying ``reason``."""
    grade = Grade(student=student, source=source, status=status, reason=reason, max_score=rubric.max_score)
    grade.checks = score({}, rubric)
    for check in grade.checks:
        check.summary = reason
    return grade


def grade_folder(folder: Path, data_dir: Path, expected: Expected, rubric: Rubric, limits: Limits,
                 student: str, source: str) -> Grade:
    """Grade a submission folder that holds the contract's files (intake has found it)."""
    grade = Grade(student=student, source=source, status="graded", max_score=rubric.max_score)
    absent = missing_files(folder)
    if len(absent) == len(CONTRACT_FILES):
        return rejected(student, source, "The submission holds neither stream_data.py nor stream_queries.py.", rubric)
    with run_submission(folder, data_dir, limits) as run:
        grade.checks = judge(run, expected, rubric)
        grade.seconds = round(sum(c.seconds for c in run.children), 3)
        for child in run.children:
            grade.notes += child.notes
            if child.output_dropped:
                grade.notes.append(f"{child.part}: {child.output_dropped:,} bytes of output were cut")
    for name in absent:
        grade.notes.append(f"{name} is missing from the submission")
    grade.notes = list(dict.fromkeys(grade.notes))
    return grade
