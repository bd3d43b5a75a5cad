"""Grade many submissions: intake each path, grade in parallel, write every report.

A submission that cannot be taken in or crashes still gets a gradebook row, a results.json
and feedback; only a fault of the grader itself makes the batch fail.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from grader.engine import Grade, grade_folder, score
from grader.golden import Expected
from grader.intake import IntakeLimits, take_in
from grader.reports import write_gradebook, write_junit, write_submission_reports
from grader.rubric import Rubric
from grader.sandbox import Limits


@dataclass
class BatchResult:
    grades: list[Grade]
    grader_errors: int


def rejected(student: str, source: str, reason: str, rubric: Rubric, status: str = "rejected") -> Grade:
    grade = Grade(student=student, source=source, status=status, reason=reason, max_score=rubric.max_score)
    grade.checks = score({}, rubric)
    for check in grade.checks:
        check.summary = reason
    return grade


def grade_path(path: Path, data_dir: Path, expected: Expected, rubric: Rubric, limits: Limits,
               intake_limits: IntakeLimits | None = None) -> Grade:
    """Intake then grade one path (zip or folder); never raises."""
    scratch = Path(tempfile.mkdtemp(prefix="dsc650-intake-"))
    student = path.stem
    try:
        intake = take_in(path, scratch, intake_limits or IntakeLimits())
        student = intake.student
        if intake.folder is None:
            return rejected(intake.student, path.name, intake.reason or "The submission could not be read.", rubric)
        grade = grade_folder(intake.folder, data_dir, expected, rubric, limits, intake.student, path.name)
        grade.notes = list(dict.fromkeys([*intake.notes, *grade.notes]))
        return grade
    except Exception as error:  # a grader fault: keep the batch going, say so loudly
        detail = "".join(traceback.format_exception_only(error)).strip()
        print(f"grader error on {path}: {detail}\n{traceback.format_exc()}", file=sys.stderr)
        return rejected(student, path.name, f"The grader itself failed on this submission ({detail[:200]}); "
                        "it is not your fault: tell your instructor.", rubric, status="error")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def grade_batch(paths: list[Path], out_dir: Path, data_dir: Path, expected: Expected, rubric: Rubric,
                limits: Limits, jobs: int = 1, on_done: Callable[[Grade], None] | None = None,
                intake_limits: IntakeLimits | None = None) -> BatchResult:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    grades: list[Grade] = []
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(grade_path, p, data_dir, expected, rubric, limits, intake_limits) for p in paths]
        for future in as_completed(futures):
            grade = future.result()
            grades.append(grade)
            write_submission_reports(grade, rubric, out_dir)
            if on_done:
                on_done(grade)
    write_gradebook(grades, rubric, out_dir / "gradebook.csv")
    write_junit(grades, out_dir / "junit.xml")
    return BatchResult(grades=grades, grader_errors=sum(g.status == "error" for g in grades))

