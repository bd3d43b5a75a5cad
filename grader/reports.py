"""Reports written from ``Grade`` objects: the stable output contract, kept apart from the engine.

- ``results.json``: Gradescope's autograder format (score, execution_time, tests[]...).
- ``feedback.md``: what a student reads: each part, what was expected, what came, how to fix.
- ``gradebook.csv``: one row per submission, one column per rubric part.
- ``junit.xml``: one test case per check, for CI dashboards.
Everything but execution times is a function of the grade, so grading twice gives the same bytes.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from xml.etree import ElementTree as ET

from grader.engine import CheckResult, Grade
from grader.rubric import Rubric

GRADEBOOK_FIELDS = ["student", "file", "score", "max_score", "status"]


def _points(value: float) -> str:
    return f"{value:g}"


def check_text(check: CheckResult) -> str:
    lines = [check.summary, *(f"- {d}" for d in check.details)]
    if check.notes:
        lines.append(f"(accepted: {'; '.join(check.notes)})")
    return "\n".join(lines)


def results_json(grade: Grade, rubric: Rubric) -> dict:
    """Gradescope's results.json for one submission."""
    tests = [
        {
            "name": f"{check.part} {check.title}",
            "number": check.id,
            "score": check.score,
            "max_score": check.max_score,
            "status": "passed" if check.passed else "failed",
            "output": check_text(check),
            "visibility": "visible",
        }
        for check in grade.checks
    ]
    output = grade.reason or f"{_points(grade.score)} / {_points(grade.max_score)} points."
    return {
        "score": grade.score,
        "max_score": grade.max_score,
        "execution_time": grade.seconds,
        "output": output,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {"status": grade.status, "notes": grade.notes, "student": grade.student},
    }


def feedback_md(grade: Grade, rubric: Rubric) -> str:
    lines = [f"# Assignment 8 feedback: {grade.student}", ""]
    lines.append(f"**Score: {_points(grade.score)} / {_points(grade.max_score)}**" + (f" ({grade.status})" if grade.status != "graded" else ""))
    if grade.reason:
        lines += ["", grade.reason]
    scores = grade.part_scores(rubric)
    for part, title in rubric.parts.items():
        got, top = scores[part]
        lines += ["", f"## {title}: {_points(got)} / {_points(top)}", ""]
        for check in (c for c in grade.checks if c.part == part):
            mark = "✅" if check.passed else "❌"
            lines.append(f"{mark} **{check.title}** ({_points(check.score)}/{_points(check.max_score)})  ")
            lines.append(f"{check.summary}")
            lines += [f"  - {d}" for d in check.details]
            if check.notes:
                lines.append(f"  - accepted: {'; '.join(check.notes)}")
            lines.append("")
    if grade.notes:
        lines += ["## Notes", "", *(f"- {n}" for n in grade.notes), ""]
    return "\n".join(lines).rstrip() + "\n"


def write_submission_reports(grade: Grade, rubric: Rubric, out_dir: Path) -> Path:
    folder = Path(out_dir) / grade.student
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(results_json(grade, rubric), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (folder / "feedback.md").write_text(feedback_md(grade, rubric), encoding="utf-8")
    return folder


def write_gradebook(grades: list[Grade], rubric: Rubric, path: Path) -> None:
    fields = GRADEBOOK_FIELDS + list(rubric.parts) + ["reason"]
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for grade in sorted(grades, key=lambda g: (g.student, g.source)):
            row = {"student": grade.student, "file": grade.source, "score": _points(grade.score),
                   "max_score": _points(grade.max_score), "status": grade.status, "reason": short_reason(grade)}
            row.update({part: _points(got) for part, (got, _) in grade.part_scores(rubric).items()})
            writer.writerow(row)


def short_reason(grade: Grade) -> str:
    if grade.reason:
        return grade.reason
    failed = [c for c in grade.checks if not c.passed]
    if not failed:
        return "full marks"
    return f"{failed[0].id}: {failed[0].summary}"[:200] + (f" (+{len(failed) - 1} more)" if len(failed) > 1 else "")


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
                failure.text = check_text(check)
    ET.indent(suites)
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)
