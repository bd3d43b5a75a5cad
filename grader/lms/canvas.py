"""Canvas: Download Submissions (``<name>[_LATE]_<user id>_<file id>_<original>``, flat) and the
gradebook import CSV (students matched by ID, the Canvas user id)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from grader.lms.members import Download, File, Member, compose, name_members, original_name, safe

NAME = "Canvas"
COLUMN = "Assignment 8"  # no "(id)": Canvas makes a new assignment
_FILE = re.compile(r"^(?P<name>[^/]+?)(?P<late>_LATE)?_(?P<user>\d+)_(?P<file>\d+)_(?P<original>[^/]+)$")


def matches(name: str) -> bool:
    return bool(_FILE.match(name.rsplit("/", 1)[-1]))


def split(files: list[tuple[str, Path]], scratch: Path) -> Download:
    """One member per user id; the download holds only the current submission, its files by file id."""
    by_user: dict[str, list[tuple[re.Match, File]]] = {}
    strays = []
    for rel, path in files:
        found = _FILE.match(rel.rsplit("/", 1)[-1])
        if not found:
            strays.append(rel)
            continue
        file = File(rel, original_name(found["original"]), path, found["file"].zfill(20))
        by_user.setdefault(found["user"], []).append((found, file))
    members = []
    for user, found in sorted(by_user.items()):
        member = Member(NAME, user, found[0][0]["name"])
        if any(f["late"] for f, _ in found):
            member.notes.append("Canvas marked this submission LATE")
        members.append(member)
    name_members(members, {i: safe(f"{m.name}_{m.identity}") for i, m in enumerate(members)})
    for member in members:
        compose(member, [file for _, file in by_user[member.identity]], scratch, "The Canvas submission")
    notes = [f"not named as Canvas names a submission's files, so no student's: {', '.join(strays[:5])}"
             + (f" and {len(strays) - 5} more" if len(strays) > 5 else "")] if strays else []
    return Download(NAME, members, notes)


def write(rows: list[dict[str, str]], path: Path, column: str | None, max_score: str) -> None:
    """Canvas's import: the five identity columns (SIS ones left empty), the assignment, a Points Possible row.
    Canvas's CSV carries no comments: the feedback goes back as feedback.md."""
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", column or COLUMN])
        writer.writerow(["    Points Possible", "", "", "", "", max_score])
        for row in rows:
            writer.writerow([row["lms_name"], row["lms_id"], "", "", "", row["score"]])
