"""A submission's verdict as plain data: what every report (gradebook, results.json, feedback,
JUnit, the pytest summary) is written from. Nothing here runs or prints anything."""

from __future__ import annotations

from dataclasses import dataclass, field

from grader.rubric import Rubric


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
    evidence: list[str] = field(default_factory=list)  # lines quoting expected rows (left out when redacted)
    cause: str = ""  # the part's root cause (a crash, an import error), said before anything else
    review: bool = False  # the grader could not judge this check: an instructor should
    labels: list[str] = field(default_factory=list)  # its diagnoses' stable names (grader.checks.diagnoses)


@dataclass
class Grade:
    """One submission's verdict. ``status``: graded, rejected (never ran) or error (grader fault)."""

    student: str
    source: str
    status: str
    reason: str = ""
    checks: list[CheckResult] = field(default_factory=list)
    seconds: float = 0.0  # how long its children ran: the longer part, since both run at once
    notes: list[str] = field(default_factory=list)
    max_score: float = 0.0
    isolation: str = ""  # the mode the student's code really ran in ("" when it never ran)
    causes: dict[str, str] = field(default_factory=dict)  # part -> why it could not run at all
    part_notes: dict[str, list[str]] = field(default_factory=dict)  # part -> what each of its checks should also say
    redacted: bool = False  # a hidden dataset's verdict: reports leave out the expected rows
    lms: dict[str, str] = field(default_factory=dict)  # from an LMS's download: who the LMS says the student is

    @property
    def score(self) -> float:
        return sum(c.score for c in self.checks)

    @property
    def review(self) -> list[str]:
        """Checks the grader could not judge: an instructor should regrade them."""
        return [c.id for c in self.checks if c.review]

    def part_scores(self, rubric: Rubric) -> dict[str, tuple[float, float]]:
        scores = {part: (0.0, 0.0) for part in rubric.parts}
        for check in self.checks:
            got, top = scores.get(check.part, (0.0, 0.0))
            scores[check.part] = (got + check.score, top + check.max_score)
        return scores


def rejected(student: str, source: str, reason: str, rubric: Rubric, status: str = "rejected") -> Grade:
    """A verdict without a run: every check at zero, each saying ``reason``."""
    grade = Grade(student=student, source=source, status=status, reason=reason, max_score=rubric.max_score)
    grade.checks = [CheckResult(id=item.id, part=item.part, title=item.title, score=0.0, max_score=item.points,
                                passed=False, summary=reason) for item in rubric.items]
    return grade
