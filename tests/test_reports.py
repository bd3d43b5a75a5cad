"""The output contract: results.json (Gradescope), feedback.md, gradebook.csv, junit.xml."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from xml.etree import ElementTree as ET

from grader.reports import feedback_md, results_json, write_gradebook, write_junit, write_submission_reports
from grader.rubric import DEFAULT_RUBRIC, load_rubric
from grader.verdict import CheckResult, Grade

RUBRIC = load_rubric(DEFAULT_RUBRIC)


def make_grade(student: str, failing: set[str]) -> Grade:
    checks = [
        CheckResult(id=i.id, part=i.part, title=i.title, score=0.0 if i.id in failing else i.points, max_score=i.points,
                    passed=i.id not in failing, summary=f"summary of {i.id}",
                    details=[f"detail of {i.id}"] if i.id in failing else [],
                    notes=["read `ride_id` as `uuid`"] if i.id == "windowed.final" else [])
        for i in RUBRIC.items
    ]  # fmt: skip
    return Grade(student=student, source=f"assignment08_{student}.zip", status="graded", checks=checks,
                 seconds=12.5, max_score=RUBRIC.max_score)


def test_results_json_has_gradescopes_fields() -> None:
    grade = make_grade("DoeJane", {"joined.unmatched"})
    report = results_json(grade, RUBRIC)
    assert report["score"] == RUBRIC.max_score - RUBRIC.item("joined.unmatched").points
    assert report["execution_time"] == 12.5 and report["visibility"] == "visible"
    assert len(report["tests"]) == len(RUBRIC.items)
    failed = next(t for t in report["tests"] if t["number"] == "joined.unmatched")
    assert failed["status"] == "failed" and failed["score"] == 0 and "detail of joined.unmatched" in failed["output"]
    for test in report["tests"]:
        assert set(test) >= {"name", "score", "max_score", "status", "output", "visibility"}
    json.dumps(report)


def test_feedback_names_each_part_what_failed_and_what_was_accepted() -> None:
    text = feedback_md(make_grade("DoeJane", {"feed.timing"}), RUBRIC)
    for title in RUBRIC.parts.values():
        assert title in text
    assert "❌ **" + RUBRIC.item("feed.timing").title in text and "detail of feed.timing" in text
    assert "accepted: read `ride_id` as `uuid`" in text


def test_gradebook_and_junit(tmp_path: Path) -> None:
    grades = [make_grade("Zed", set()), make_grade("Abe", {"simple.locations", "feed.rows"})]
    write_gradebook(grades, RUBRIC, tmp_path / "gradebook.csv")
    rows = list(csv.DictReader((tmp_path / "gradebook.csv").open()))
    assert [r["student"] for r in rows] == ["Abe", "Zed"]
    assert rows[0]["8.2a"] == "2" and rows[0]["8.1"] == "8" and "+1 more" in rows[0]["reason"]
    assert rows[1]["reason"] == "full marks" and rows[1]["score"] == rows[1]["max_score"]
    write_junit(grades, tmp_path / "junit.xml")
    suites = ET.parse(tmp_path / "junit.xml").getroot()
    assert [s.get("failures") for s in suites] == ["2", "0"]


def test_reports_are_the_same_bytes_twice(tmp_path: Path) -> None:
    grade = make_grade("DoeJane", {"windowed.updates"})
    first = write_submission_reports(grade, RUBRIC, tmp_path / "a")
    second = write_submission_reports(grade, RUBRIC, tmp_path / "b")
    for name in ("results.json", "feedback.md"):
        assert (first / name).read_bytes() == (second / name).read_bytes()
