"""Moodle: Download all submissions (``<Full name>_<participant id>_assignsubmission_file/<original>``,
or flat with ``_`` for ``/``) and the offline grading worksheet (matched by ``Participant N``)."""

from __future__ import annotations

import csv
import re
from datetime import datetime
from pathlib import Path

from grader.lms.members import Download, File, Member, compose, name_members, safe

NAME = "Moodle"
# the folder (older releases add a trailing _), then the file: "/" in folder mode, "_" in flat mode
_FILE = re.compile(r"^(?:.*/)?(?P<name>[^/]+?)_(?P<id>\d+)_assignsubmission_(?P<plugin>[a-z]+)_?[/_](?P<original>.+)$")


def matches(name: str) -> bool:
    return bool(_FILE.match(name))


def when(stamp: tuple[int, ...] | None) -> str:
    """A file's time in the download as Moodle writes dates ("Monday, 30 November 2026, 9:14 PM")."""
    try:
        at = datetime(*stamp[:6]) if stamp else None
    except ValueError:  # a zip's DOS date may be nonsense (month 0): then the download does not say
        at = None
    if at is None:
        return ""
    return f"{at:%A}, {at.day} {at:%B %Y}, {at.hour % 12 or 12}:{at:%M %p}"


def split(files: list[tuple[str, Path]], scratch: Path, stamps: dict[str, tuple[int, ...]]) -> Download:
    """One member per participant id; the newest file time in the download is when they submitted."""
    by_id: dict[str, list[tuple[str, File]]] = {}
    strays, texts = [], []
    for rel, path in files:
        found = _FILE.match(rel)
        if not found:
            strays.append(rel)
            continue
        if found["plugin"] != "file":  # online text and the like: not code
            texts.append(rel)
            continue
        by_id.setdefault(found["id"], []).append((found["name"], File(rel, found["original"], path)))
    members = [Member(NAME, pid, found[0][0], submitted=when(max((stamps[f.name] for _, f in found if f.name in stamps), default=None)))
               for pid, found in sorted(by_id.items(), key=lambda item: int(item[0]))]
    name_members(members, {i: safe(f"{m.name}_{m.identity}") for i, m in enumerate(members)})
    for member in members:
        compose(member, [file for _, file in by_id[member.identity]], scratch, "The Moodle submission")
    notes = [f"not in a Moodle submission folder, so no student's: {', '.join(strays[:5])}"
             + (f" and {len(strays) - 5} more" if len(strays) > 5 else "")] if strays else []
    notes += [f"not file submissions (not graded): {', '.join(texts[:5])}"] if texts else []
    return Download(NAME, members, notes)


def write(rows: list[dict[str, str]], path: Path, max_score: str) -> None:
    """The offline grading worksheet: Identifier, Full name, Grade, Maximum Grade, Last modified (grade)
    (the submission's time, so a grade changed in Moodle since is not overwritten), Feedback comments."""
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Identifier", "Full name", "Grade", "Maximum Grade", "Last modified (grade)", "Feedback comments"])
        for row in rows:
            writer.writerow([f"Participant {row['lms_id']}", row["lms_name"], row["score"], max_score,
                             row["lms_submitted"] or "-", row["summary"]])
