"""Reports written from ``Grade`` objects: the stable output contract, kept apart from the engine.

- ``results.json``: Gradescope's autograder format (score, execution_time, tests[]...).
- ``feedback.md``: what a student reads: each part, why it failed first, what was expected, how to fix.
- ``gradebook.csv``: one row per submission, one column per rubric part.
- ``junit.xml``: one test case per check, for CI dashboards.

Everything but execution times is a function of the grade, so grading twice gives the same
bytes. Each report says how the student's code was confined (``Grade.isolation``), and a
redacted grade (a hidden dataset) never quotes expected rows.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from xml.etree import ElementTree as ET

from grader.rubric import Rubric
from grader.sandbox.isolation import DESCRIPTIONS
from grader.verdict import CheckResult, Grade

GRADEBOOK_FIELDS = ["student", "file", "score", "max_score", "status"]
LMS_FIELDS = ["lms", "lms_id", "lms_name", "lms_submitted"]  # only when a grade came from an LMS's download
REDACTED = "(the expected rows of this dataset are not shown)"


def points(value: float) -> str:
    return f"{value:g}"


def isolation_text(grade: Grade) -> str:
    return DESCRIPTIONS.get(grade.isolation, "") if grade.isolation else "your code was not run"


def check_lines(check: CheckResult, redacted: bool, cause_shown: bool = False) -> list[str]:
    """A check's feedback, root cause first: summary, then detail lines (evidence unless redacted).
    ``cause_shown``: the part's cause is said above it already (feedback.md), so it is not repeated."""
    evidence = ([REDACTED] if check.evidence else []) if redacted else check.evidence
    summary, rest = check.summary, [*evidence, *check.details]
    lines = [check.cause] if check.cause and check.cause != summary and not cause_shown else []
    if cause_shown and check.cause and summary == check.cause:
        summary, rest = (rest[0], rest[1:]) if rest else ("See **Why** above.", [])
    lines += [summary, *(f"- {d}" for d in rest)]
    if check.notes:
        lines.append(f"(accepted: {'; '.join(check.notes)})")
    return lines


def check_text(check: CheckResult, redacted: bool = False, part_notes: list[str] | None = None) -> str:
    """A check's feedback as one text (results.json, JUnit, pytest): its part's notes at the end."""
    return "\n".join([*check_lines(check, redacted), *(f"Note: {n}" for n in part_notes or [])])


def results_json(grade: Grade, rubric: Rubric, prefix: str = "") -> dict:
    """Gradescope's results.json for one submission (with the LMS's identity when it came from a download)."""
    tests = [
        {
            "name": f"{prefix}{check.part} {check.title}",
            "number": check.id,
            "score": check.score,
            "max_score": check.max_score,
            "status": "passed" if check.passed else "failed",
            "output": check_text(check, grade.redacted, grade.part_notes.get(check.part)),
            "visibility": "visible",
            "extra_data": {"part": check.part, "labels": check.labels},
        }
        for check in grade.checks
    ]
    report = {
        "score": grade.score,
        "max_score": grade.max_score,
        "execution_time": grade.seconds,
        "output": grade.reason or f"{points(grade.score)} / {points(grade.max_score)} points.",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {"status": grade.status, "notes": grade.notes, "student": grade.student, "causes": grade.causes,
                       "review": grade.review, "isolation": grade.isolation, "isolation_text": isolation_text(grade)},
    }
    if grade.lms:
        report["extra_data"]["lms"] = dict(grade.lms)
    return report


def gradescope_results(official: Grade, rubric: Rubric, practice: Grade | None = None) -> dict:
    """results.json for Gradescope: the official grade's, with the practice grade (the bundled
    fixtures, when the official one is on a hidden dataset) listed beside it, not counted."""
    report = results_json(official, rubric)
    if practice is None:
        return report
    report["output"] = (f"Official score, on a dataset you have not seen: {points(official.score)} / {points(official.max_score)}. "
                        f"Practice score, on the bundled fixtures (the same as `pytest --submission`, not counted): "
                        f"{points(practice.score)} / {points(practice.max_score)}."
                        + (f"\n{official.reason}" if official.reason else ""))
    extra = results_json(practice, rubric, prefix="Practice, not counted: ")["tests"]
    for test in extra:
        test.pop("score")
        test.pop("max_score")
    report["tests"] += extra
    report["execution_time"] = round(official.seconds + practice.seconds, 3)
    report["extra_data"]["practice"] = {"score": practice.score, "max_score": practice.max_score, "status": practice.status}
    return report


def feedback_md(grade: Grade, rubric: Rubric) -> str:
    lines = [f"# Assignment 8 feedback: {grade.student}", ""]
    lines.append(f"**Score: {points(grade.score)} / {points(grade.max_score)}**" + (f" ({grade.status})" if grade.status != "graded" else ""))
    if grade.reason:
        lines += ["", grade.reason]
    scores = grade.part_scores(rubric)
    for part, title in rubric.parts.items():
        got, top = scores.get(part, (0.0, 0.0))
        lines += ["", f"## {title}: {points(got)} / {points(top)}", ""]
        if grade.causes.get(part):
            lines += [f"**Why:** {grade.causes[part]}", ""]
        lines += [*(f"**Note:** {note}" for note in grade.part_notes.get(part, [])), *([""] if part in grade.part_notes else [])]
        for check in (c for c in grade.checks if c.part == part):
            mark = "✅" if check.passed else "❌"
            lines.append(f"{mark} **{check.title}** ({points(check.score)}/{points(check.max_score)})  ")
            body = check_lines(check, grade.redacted, cause_shown=part in grade.causes)
            lines += [body[0], *(f"  {line}" for line in body[1:])]
            lines.append("")
    if grade.redacted:
        lines += ["These results are on a dataset you have not seen, so they say what failed without quoting the "
                  "expected rows; the bundled fixtures (`pytest --submission`) show them in full.", ""]
    if grade.notes:
        lines += ["## Notes", "", *(f"- {n}" for n in grade.notes), ""]
    lines += [f"Isolation: {isolation_text(grade)}.", ""]
    return "\n".join(lines).rstrip() + "\n"


def write_submission_reports(grade: Grade, rubric: Rubric, out_dir: Path) -> Path:
    folder = Path(out_dir) / grade.student
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(results_json(grade, rubric), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (folder / "feedback.md").write_text(feedback_md(grade, rubric), encoding="utf-8")
    return folder


def short_reason(grade: Grade) -> str:
    """The gradebook's reason: the root causes first, then the first failed check."""
    if grade.reason:
        return grade.reason
    if grade.causes:
        said: dict[str, list[str]] = {}
        for part, cause in grade.causes.items():
            said.setdefault(cause, []).append(part)
        return "; ".join(f"{'/'.join(parts)}: {cause}" for cause, parts in said.items())[:300]
    failed = [c for c in grade.checks if not c.passed]
    if not failed:
        return "full marks"
    return f"{failed[0].id}: {failed[0].summary}"[:200] + (f" (+{len(failed) - 1} more)" if len(failed) > 1 else "")


def write_gradebook(grades: list[Grade], rubric: Rubric, path: Path) -> None:
    """One row per grade; from an LMS's download also the LMS's identity of each student and the notes
    (older attempts not graded, files beside the graded ones), which the LMS's grade file is written from."""
    fields = GRADEBOOK_FIELDS + list(rubric.parts) + ["isolation", "review", "reason"]
    lms = any(g.lms for g in grades)
    if lms:
        fields = fields[:1] + LMS_FIELDS + fields[1:] + ["notes"]
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for grade in sorted(grades, key=lambda g: (g.student, g.source)):
            row = {"student": grade.student, "file": grade.source, "score": points(grade.score),
                   "max_score": points(grade.max_score), "status": grade.status, "isolation": grade.isolation or "-",
                   "review": " ".join(grade.review), "reason": short_reason(grade)}
            row.update({part: points(got) for part, (got, _) in grade.part_scores(rubric).items()})
            if lms:
                row.update({key: grade.lms.get(key, "") for key in LMS_FIELDS}, notes="; ".join(grade.notes))
            writer.writerow(row)


def write_junit(grades: list[Grade], path: Path) -> None:
    suites = ET.Element("testsuites", name="dsc650-assignment08")
    for grade in sorted(grades, key=lambda g: (g.student, g.source)):
        failures = sum(not c.passed for c in grade.checks)
        suite = ET.SubElement(suites, "testsuite", name=grade.student, tests=str(len(grade.checks)),
                              failures=str(failures), time=f"{grade.seconds:.3f}")
        for check in grade.checks:
            case = ET.SubElement(suite, "testcase", classname=f"{grade.student}.{check.part}", name=check.id)
            if not check.passed:
                failure = ET.SubElement(case, "failure", message=check.summary[:500])
                failure.text = check_text(check, grade.redacted, grade.part_notes.get(check.part))
    ET.indent(suites)
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)
