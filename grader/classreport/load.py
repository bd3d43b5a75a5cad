"""A batch's reports read back from disk: gradebook.csv and each student's results.json.

The class report is always made from these files, never from the grades in memory, so the page a
batch writes and the one ``grader report OUT`` rebuilds later (CI shards merged into one folder,
say) are the same, and their counts are the gradebook's by construction.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

CODE_FOLDER = "submitted"  # each student's Python files, kept beside feedback.md for the similarity check


@dataclass
class Test:
    id: str
    part: str
    title: str
    passed: bool
    score: float
    max_score: float
    labels: list[str]
    summary: str


@dataclass
class Student:
    """One gradebook row with its results.json's checks and causes."""

    name: str
    file: str
    score: float
    max_score: float
    status: str
    isolation: str
    review: list[str]
    reason: str
    seconds: float = 0.0
    tests: list[Test] = field(default_factory=list)
    causes: dict[str, str] = field(default_factory=dict)
    feedback: str = ""  # feedback.md relative to the report folder, "" when absent


def _test(raw: dict) -> Test:
    extra = raw.get("extra_data") or {}
    name = str(raw.get("name", ""))
    part = extra.get("part") or name.split(" ", 1)[0]
    return Test(id=str(raw.get("number", name)), part=part, title=name.split(" ", 1)[-1], passed=raw.get("status") == "passed",
                score=float(raw.get("score", 0)), max_score=float(raw.get("max_score", 0)), labels=list(extra.get("labels", [])),
                summary=str(raw.get("output", "")).splitlines()[0] if raw.get("output") else "")


def load(out_dir: Path) -> list[Student]:
    """Every gradebook row of ``out_dir``, with what its results.json adds; sorted as the gradebook."""
    out_dir = Path(out_dir)
    students = []
    with (out_dir / "gradebook.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            student = Student(name=row["student"], file=row["file"], score=float(row["score"]), max_score=float(row["max_score"]),
                              status=row["status"], isolation=row.get("isolation", "-"), review=row.get("review", "").split(),
                              reason=row.get("reason", ""))
            folder = student_folder(out_dir, student.name)
            results = folder / "results.json"
            if results.is_file():
                data = json.loads(results.read_text(encoding="utf-8"))
                student.seconds = float(data.get("execution_time") or 0)
                student.tests = [_test(t) for t in data.get("tests", [])]
                student.causes = dict((data.get("extra_data") or {}).get("causes") or {})
            if (folder / "feedback.md").is_file():
                student.feedback = (folder / "feedback.md").relative_to(out_dir).as_posix()
            students.append(student)
    return students


def student_folder(out_dir: Path, student: str) -> Path:
    """A student's report folder: ``OUT/student``, or under a shard's folder copied into OUT
    (``OUT/shards/reports-shard-2/student``, as the CI example's merge job lays them out)."""
    for folder in [out_dir / student, *sorted(out_dir.glob(f"*/{student}")), *sorted(out_dir.glob(f"*/*/{student}"))]:
        if (folder / "results.json").is_file():
            return folder
    return out_dir / student


def code_of(out_dir: Path, student: str) -> Path | None:
    folder = student_folder(Path(out_dir), student) / CODE_FOLDER
    return folder if folder.is_dir() else None


def keep_code(folder: Path, report_folder: Path) -> None:
    """Copy a submission's Python files (no links, at most 50, each at most 200 kB) into its report
    folder, so the similarity check can run again later from the reports alone."""
    target = Path(report_folder) / CODE_FOLDER
    files = sorted(p for p in Path(folder).rglob("*.py") if p.is_file() and not p.is_symlink() and "__pycache__" not in p.parts)
    for path in files[:50]:
        destination = target / path.relative_to(folder)
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(path.read_bytes()[:200_000])
