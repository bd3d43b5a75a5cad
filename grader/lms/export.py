"""The grade file an LMS imports, written from ``gradebook.csv`` alone: the same file whether it is written
right after grading or later from an earlier run's gradebook, and the same bytes for the same gradebook."""

from __future__ import annotations

import csv
from pathlib import Path

from grader.lms import blackboard, canvas, moodle
from grader.rubric import Rubric

FILES = {"blackboard": "blackboard-upload.csv", "canvas": "canvas-import.csv", "moodle": "moodle-worksheet.csv"}
_LMS = {"Blackboard": "blackboard", "Canvas": "canvas", "Moodle": "moodle"}


class ExportError(Exception):
    """A gradebook the grade file cannot be written from: one line for the user."""


def read_gradebook(path: Path) -> list[dict[str, str]]:
    try:
        with Path(path).open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeError, csv.Error) as error:
        raise ExportError(f"cannot read the gradebook {path}: {error}") from None
    if not rows or "score" not in rows[0] or "student" not in rows[0]:
        raise ExportError(f"{path} is not a grader gradebook.csv (no student and score columns, or no rows)")
    return rows


def source_lms(rows: list[dict[str, str]]) -> str | None:
    """The LMS the gradebook's students came from, when they all came from one."""
    kinds = {_LMS.get(row.get("lms", ""), "") for row in rows}
    return kinds.pop() or None if len(kinds) == 1 else None


def summary(row: dict[str, str], rubric: Rubric) -> str:
    """What the LMS shows the student: the score per part, the root cause, where the rest is."""
    tops: dict[str, float] = {}
    for item in rubric.items:
        tops[item.part] = tops.get(item.part, 0.0) + item.points
    parts = ", ".join(f"{part} {row.get(part, '0')}/{top:g}" for part, top in tops.items())
    reason = row.get("reason", "")
    reason = reason if len(reason) <= 300 else reason[:299] + "…"
    reason = reason[:1].upper() + reason[1:]
    return (f"Assignment 8: {row['score']}/{row['max_score']} ({parts}). {reason}".rstrip(". ") + ". "
            "The full feedback, part by part, is in your feedback.md.")


def export(gradebook: Path, kind: str, rubric: Rubric, column: str | None = None, out: Path | None = None) -> tuple[Path, list[str]]:
    """Write the grade file for ``kind`` beside the gradebook (or at ``out``); the warnings to show."""
    rows = read_gradebook(gradebook)
    warnings = []
    came = source_lms(rows)
    if came != kind:
        said = f"{came.capitalize()} identities" if came else "the students' ids from their file names"
        warnings.append(f"the gradebook holds {said}, not {kind.capitalize()}'s: check that the LMS matches them")
    for row in rows:
        row["lms_id"] = row.get("lms_id") or row["student"]
        row["lms_name"] = row.get("lms_name") or row["student"]
        row["lms_submitted"] = row.get("lms_submitted", "") if came == kind else ""
        row["summary"] = summary(row, rubric)
    rows.sort(key=lambda r: (r["lms_id"], r["student"]))
    ids = [r["lms_id"] for r in rows]
    if len(set(ids)) != len(ids):
        twice = sorted({i for i in ids if ids.count(i) > 1})
        raise ExportError(f"{gradebook} grades {', '.join(twice[:3])} more than once; the LMS takes one grade each")
    path = Path(out) if out else Path(gradebook).with_name(FILES[kind])
    top = f"{rubric.max_score:g}"
    if kind == "blackboard":
        blackboard.write(rows, path, column)
    elif kind == "canvas":
        canvas.write(rows, path, column, top)
    else:
        moodle.write(rows, path, top)
    return path, warnings
