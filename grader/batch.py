"""Grade many submissions: intake each path, grade in parallel, write every report.

A submission that cannot be taken in or crashes still gets a gradebook row, a results.json
and feedback; only a fault of the grader itself makes the batch fail.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from grader.classreport.load import keep_code
from grader.engine import grade_folder
from grader.golden import Expected
from grader.intake import IntakeLimits, student_id, take_in
from grader.lms.members import Member
from grader.reports import write_gradebook, write_junit, write_submission_reports
from grader.rubric import Rubric
from grader.sandbox.isolation import Isolation
from grader.sandbox.run import Limits
from grader.verdict import Grade, rejected


@dataclass
class BatchResult:
    grades: list[Grade]
    grader_errors: int


def report_names(paths: list[Path]) -> dict[Path, str]:
    """A distinct report folder per path: the student id, then -2, -3... in path order."""
    names: dict[Path, str] = {}
    taken: set[str] = set()
    for path in sorted(paths, key=lambda p: p.as_posix()):
        base = student_id(path.name)
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}-{n}"
        taken.add(name)
        names[path] = name
    return names


def _apart(members: list[Member], taken: set[str]) -> list[Member]:
    """Members whose report folder an ordinary path of the same batch has taken get -2, -3..."""
    for member in members:
        base, n = member.student, 1
        while member.student in taken:
            n += 1
            member.student = f"{base}-{n}"
        taken.add(member.student)
    return members


def shard(paths: list[Path], index: int, count: int) -> list[Path]:
    """Shard ``index`` of ``count`` (1-based): every count-th path in sorted order."""
    ordered = sorted(paths, key=lambda p: p.as_posix())
    return ordered[index - 1 :: count]


@dataclass(frozen=True)
class Grading:
    """What every submission of a batch is graded with."""

    data_dir: Path
    expected: Expected
    rubric: Rubric
    limits: Limits
    isolation: Isolation | None = None  # None: the strongest this machine allows
    redact: bool = False  # a dataset students have not seen: feedback quotes no expected rows
    intake: IntakeLimits = field(default_factory=IntakeLimits)


def grade_member(member: Member, grading: Grading, out_dir: Path | None = None) -> Grade:
    """One student of an LMS's download: what was found for them taken in as any upload, named as the LMS names them."""
    if member.path is None:
        grade = rejected(member.student, member.source or "-", member.reason, grading.rubric)
    else:
        writer = "".join(part.capitalize() for part in member.name.replace("_", " ").split())
        grade = grade_path(member.path, grading, member.student, writer or member.student, out_dir)
        grade.source = member.source
    grade.notes = list(dict.fromkeys([*member.notes, *grade.notes]))
    grade.lms = member.lms_columns()
    return grade


def grade_path(path: Path, grading: Grading, name: str | None = None, writer: str | None = None,
               out_dir: Path | None = None) -> Grade:
    """Intake then grade one path (zip or folder); never raises. ``writer``: the name the intake's advice
    suggests for a re-created zip, when the path's own name does not say who wrote it. With ``out_dir``,
    its code is kept in its report folder for the class report's similarity check."""
    scratch = Path(tempfile.mkdtemp(prefix="dsc650-intake-"))
    student = name or student_id(path.name)
    rubric = grading.rubric
    try:
        intake = take_in(path, scratch, grading.intake, writer)
        if intake.folder is None:
            grade = rejected(student, path.name, intake.reason or "The submission could not be read.", rubric)
            grade.notes = list(intake.notes)
            return grade
        if out_dir is not None:
            keep_code(intake.folder, out_dir / student)
        grade = grade_folder(intake.folder, grading.data_dir, grading.expected, rubric, grading.limits, student,
                             path.name, grading.isolation)
        grade.notes = list(dict.fromkeys([*intake.notes, *grade.notes]))
        grade.redacted = grading.redact
        return grade
    except Exception as error:  # a grader fault: keep the batch going, say so loudly
        detail = "".join(traceback.format_exception_only(error)).strip()
        print(f"grader error on {path}: {detail}\n{traceback.format_exc()}", file=sys.stderr)
        return rejected(student, path.name, f"The grader itself failed on this submission ({detail[:200]}); "
                        "it is not your fault: tell your instructor.", rubric, status="error")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _import_class_report() -> None:
    """Import the class report's libraries (jinja2, matplotlib, copydetect: 1.4 s) while the first
    gradings run, not after the last one."""
    try:
        import grader.classreport.render  # noqa: F401
    except Exception:  # the class report's own try says what went wrong
        pass


def grade_batch(paths: list[Path], out_dir: Path, grading: Grading, jobs: int = 1,
                on_done: Callable[[Grade], None] | None = None, members: list[Member] | None = None) -> BatchResult:
    """Grade every path and every member of an LMS's download (``jobs`` at once) and write every report;
    one row per path or member, whatever happens."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    grades: list[Grade] = []
    names = report_names(paths)
    members = _apart(members or [], set(names.values()))
    threading.Thread(target=_import_class_report, name="class-report-import", daemon=True).start()
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(grade_path, p, grading, names[p], None, out_dir) for p in paths]
        futures += [pool.submit(grade_member, m, grading, out_dir) for m in members]
        for future in as_completed(futures):
            grade = future.result()
            grades.append(grade)
            try:
                write_submission_reports(grade, grading.rubric, out_dir)
            except Exception as error:  # a grader fault in the reports: the row says so, the batch goes on
                detail = "".join(traceback.format_exception_only(error)).strip()
                print(f"grader error writing the reports of {grade.student}: {detail}\n{traceback.format_exc()}", file=sys.stderr)
                grade.status, grade.reason = "error", f"The grader could not write this submission's feedback ({detail[:200]}); tell your instructor."
                write_submission_reports(rejected(grade.student, grade.source, grade.reason, grading.rubric, "error"),
                                         grading.rubric, out_dir)
            if on_done:
                on_done(grade)
    write_gradebook(grades, grading.rubric, out_dir / "gradebook.csv")
    write_junit(grades, out_dir / "junit.xml")
    try:
        from grader.classreport.render import write_class_report  # jinja2, matplotlib, copydetect: only now

        write_class_report(out_dir)
    except Exception:  # a fault in the class report costs the class report only: the grades stand
        print(f"grader error writing the class report:\n{traceback.format_exc()}", file=sys.stderr)
    return BatchResult(grades=grades, grader_errors=sum(g.status == "error" for g in grades))
