"""Taking in a submission (zip or folder) before any student code runs.

Placeholder: finds the contract's files in a folder; zip intake is being written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from grader.submission import CONTRACT_FILES


@dataclass(frozen=True)
class IntakeLimits:
    max_total_bytes: int = 200 * 2**20
    max_entry_bytes: int = 50 * 2**20
    max_entries: int = 2000


@dataclass
class Intake:
    source: Path
    student: str
    folder: Path | None = None
    reason: str | None = None
    notes: list[str] = field(default_factory=list)


def student_id(name: str) -> str:
    stem = re.sub(r"\.zip$", "", Path(name).name, flags=re.I)
    match = re.match(r"assignment0?8[_-](.+)$", stem, re.I)
    return match.group(1) if match else stem


def find_folder(root: Path) -> Path | None:
    candidates = [root, *sorted(p for p in root.rglob("*") if p.is_dir())]
    for folder in candidates:
        if any((folder / name).is_file() for name in CONTRACT_FILES):
            return folder
    return None


def take_in(path: Path, scratch: Path, limits: IntakeLimits) -> Intake:
    intake = Intake(source=path, student=student_id(path.name))
    if path.is_dir():
        intake.folder = find_folder(path)
        if intake.folder is None:
            intake.reason = "No stream_data.py or stream_queries.py was found in the submission."
        return intake
    intake.reason = "Only folders can be graded yet."
    return intake
