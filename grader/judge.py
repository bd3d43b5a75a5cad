"""From a run's records to the rubric's verdicts: every check on its own.

Each check of the rubric runs by itself: one that raises costs that check only, says the grader
could not judge it, and is flagged for an instructor to review; every other check stands. Each
part's root cause (a crash, an import error, a start_queries that raised about it) is found here
too, so the reports can say it before any check's detail.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable, Collection
from pathlib import Path
from typing import TypeVar

from grader.arrow_memory import give_back
from grader.checks import diagnoses, feed, queries
from grader.checks.base import Context, Finding
from grader.checks.registry import CHECKS
from grader.contract import FEED_PART, START
from grader.golden import Expected
from grader.observations import FeedRecord, QueriesRecord
from grader.outputs import sink_reader
from grader.rubric import Rubric
from grader.verdict import CheckResult

T = TypeVar("T")


def context(data_dir: Path, feed_record: FeedRecord, queries_record: QueriesRecord, expected: Expected) -> Context:
    return Context(data_dir, START, feed_record, queries_record, sink_reader(queries_record, data_dir), expected)


def _could_not(error: Exception, what: str) -> Finding:
    print(f"grader error in {what}:\n{traceback.format_exc()}", file=sys.stderr)
    return Finding(False, f"The grader could not judge this check ({type(error).__name__}: {str(error)[:200]}); it is not "
                   "your fault: your instructor has been told and will look at it.", review=True)


def _per_part(rubric: Rubric, what: str, find: Callable[[str], T | None], parts: Collection[str]) -> dict[str, T]:
    """Part -> ``find(part)``, for the ``parts`` it finds something for; a part it raises on is
    skipped (and the traceback printed for the instructor), the others stand."""
    found = {}
    for part in (p for p in rubric.parts if p in parts):
        try:
            said = find(part)
        except Exception:
            print(f"grader error finding the {what} of {part}:\n{traceback.format_exc()}", file=sys.stderr)
            continue
        if said:
            found[part] = said
    return found


def causes(ctx: Context, rubric: Rubric, parts: Collection[str]) -> dict[str, str]:
    """Part -> why it could not run at all, for the parts that could not."""
    return _per_part(rubric, "cause", lambda part: feed.cause(ctx) if part == FEED_PART else queries.cause(ctx, part), parts)


def part_notes(ctx: Context, rubric: Rubric, parts: Collection[str]) -> dict[str, list[str]]:
    """Part -> what every check of it should also say (the grader started it itself, start_queries
    did not return), said once per part."""
    return _per_part(rubric, "notes", lambda part: queries.notes(ctx, part) if part != FEED_PART else [], parts)


Judged = tuple[list[CheckResult], dict[str, str], dict[str, list[str]]]


def judge(ctx: Context, rubric: Rubric, parts: Collection[str] | None = None) -> Judged:
    """Every rubric item's result (of ``parts``, or of all), each part's root cause, and each part's notes."""
    parts = rubric.parts if parts is None else parts
    found = causes(ctx, rubric, parts)
    results = []
    for item in (i for i in rubric.items if i.part in parts):
        try:
            finding = CHECKS[item.id](ctx)
        except Exception as error:
            finding = _could_not(error, item.id)
        give_back()
        results.append(CheckResult(
            id=item.id, part=item.part, title=item.title, score=item.points if finding.passed else 0.0,
            max_score=item.points, passed=finding.passed, summary=finding.summary, details=finding.details,
            notes=finding.notes, evidence=finding.evidence, cause="" if finding.passed else found.get(item.part, ""),
            review=finding.review,
            labels=[] if finding.passed else diagnoses.labels([finding.summary, *finding.evidence, *finding.details]),
        ))  # fmt: skip
    return results, found, part_notes(ctx, rubric, parts)


def merged(rubric: Rubric, *judged: Judged) -> Judged:
    """Judgements of disjoint parts as one, the results in the rubric's order."""
    by_id = {result.id: result for results, _, _ in judged for result in results}
    return ([by_id[item.id] for item in rubric.items if item.id in by_id],
            {part: cause for _, found, _ in judged for part, cause in found.items()},
            {part: notes for _, _, noted in judged for part, notes in noted.items()})
