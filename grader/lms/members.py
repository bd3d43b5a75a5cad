"""What every LMS's download comes down to: one ``Member`` per student, holding a zip or a folder
that the ordinary intake then takes in (one code path for every upload, however it arrived)."""

from __future__ import annotations

import re
import shutil
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from grader.contract import CONTRACT_FILES

_COPY = re.compile(r"-\d+(?=\.[^.]+$)")  # Canvas's "-1" on a second file of the same name


@dataclass(frozen=True)
class File:
    """One file of the download: its name there, the student's own name for it, where it is now."""

    name: str
    original: str
    path: Path
    order: str = ""  # later sorts later: the newest of two same-named files wins


@dataclass
class Member:
    """One student of a download and what will be graded for them."""

    lms: str
    identity: str  # what the LMS matches grades on: Blackboard username, Canvas user id, Moodle participant id
    name: str  # the student's name as the LMS wrote it
    student: str = ""  # the report folder
    path: Path | None = None  # the zip or folder to take in; None: nothing gradable (``reason`` says why)
    source: str = ""  # the download's names of what is graded
    reason: str = ""
    submitted: str = ""  # when, as the download says (Moodle's worksheet wants a date), "" when it does not
    notes: list[str] = field(default_factory=list)

    def lms_columns(self) -> dict[str, str]:
        return {"lms": self.lms, "lms_id": self.identity, "lms_name": self.name, "lms_submitted": self.submitted}


@dataclass
class Download:
    lms: str
    members: list[Member]
    notes: list[str] = field(default_factory=list)  # files that belong to no recognisable student, and so on


def safe(text: str) -> str:
    """A name fit for a folder: ASCII letters, digits, '.', '_', '-'."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9._-]", "", re.sub(r"\s+", "_", text.strip()))[:80].strip("._-")


def original_name(name: str) -> str:
    """The student's file name with the LMS's duplicate suffix undone: stream_data-1.py is stream_data.py."""
    return _COPY.sub("", name) if _COPY.sub("", name) in CONTRACT_FILES else name


def compose(member: Member, files: list[File], scratch: Path, what: str) -> Member:
    """Decide what of the student's files is graded and put it under scratch: the loose contract files as an
    assignment08/ folder, else their zip (the newest of several); anything else is said in a note or the reason."""
    if not files:
        member.reason = f"{what} holds no files; there is nothing to grade."
        return member
    files = sorted(files, key=lambda f: (f.order, f.name))
    loose = {f.original: f for f in files if f.original.lower().endswith(".py")}  # the newest of a name wins
    zips = [f for f in files if f.original.lower().endswith(".zip")]
    home = scratch / member.student
    if any(name in CONTRACT_FILES for name in loose):
        folder = home / "assignment08"
        folder.mkdir(parents=True)
        for name, file in sorted(loose.items()):
            shutil.copyfile(file.path, folder / name)
        member.path, member.source = home, " + ".join(sorted(f.name for f in loose.values()))
        left = [f for f in files if f not in loose.values()]
    elif zips:
        chosen = zips[-1]
        home.mkdir(parents=True)
        member.path = home / (Path(chosen.original).name or "submission.zip")
        shutil.copyfile(chosen.path, member.path)
        member.source = chosen.name
        left = [f for f in files if f is not chosen]
    else:
        shown = ", ".join(sorted(f.original for f in files)[:5])
        member.reason = (f"{what} holds no stream_data.py, stream_queries.py or zip, only {shown}; upload the two "
                         "files, or your assignment08 folder as a zip.")
        return member
    if left:
        member.notes.append(f"not graded, beside it in the download: {', '.join(sorted(f.name for f in left)[:5])}")
    return member


def name_members(members: list[Member], base: dict[int, str]) -> None:
    """A distinct report folder per member (``base`` by position), -2, -3... in identity order."""
    taken: set[str] = set()
    for index in sorted(range(len(members)), key=lambda i: (base[i], members[i].identity)):
        name, n = base[index] or "student", 1
        while (name if n == 1 else f"{name}-{n}") in taken:
            n += 1
        members[index].student = name if n == 1 else f"{name}-{n}"
        taken.add(members[index].student)
