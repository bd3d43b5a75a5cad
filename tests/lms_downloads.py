"""Bulk downloads as each LMS writes them (LMS-FORMATS.md), built from invented students and files."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from grader.paths import REFERENCE

ASSIGNMENT = "Assignment 8"
BROKEN = b"def main(:\n"  # a syntax error: the attempt that must not be graded


def solution() -> dict[str, bytes]:
    return {name: (REFERENCE / name).read_bytes() for name in ("stream_data.py", "stream_queries.py")}


def zipped(files: dict[str, bytes], folder: str = "assignment08") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in sorted(files.items()):
            zf.writestr(f"{folder}/{name}" if folder else name, content)
    return buffer.getvalue()


def receipt(name: str, user: str, when: str, files: list[str]) -> bytes:
    listed = "".join(f"\tOriginal filename: {f}\n\tFilename: {ASSIGNMENT}_{user}_attempt_{when}_{f}\n" for f in files)
    return (f"Name: {name} ({user})\nAssignment: {ASSIGNMENT}\nDate Submitted: Monday, November 30, 2026 9:14:03 PM UTC\n"
            "Current Grade: Needs Grading\n\nSubmission Field:\nThere is no student submission text data for this "
            "assignment.\n\nComments:\nThere are no student comments for this assignment.\n\nFiles:\n"
            + (listed or "No files were attached to this submission.\n")).encode()


def blackboard_files(good: dict[str, bytes] | None = None) -> dict[str, bytes]:
    """Three students: bsmith's older attempt broken and his latest good, kli's loose .py files (her user
    name has a _), jdoe's plain assignment08.zip; and a receipt of rroe's with no files attached."""
    good = good or solution()
    attempts = {
        ("Bob Smith", "bsmith", "2026-11-27-08-02-55"): {"assignment08_SmithBob.zip": zipped({**good, "stream_queries.py": BROKEN})},
        ("Bob Smith", "bsmith", "2026-11-29-19-40-12"): {"assignment08_SmithBob.zip": zipped(good)},
        ("Kim Li", "k_li", "2026-11-30-10-00-00"): dict(good),
        ("Jane Doe", "jdoe", "2026-11-30-21-14-03"): {"assignment08.zip": zipped(good)},
        ("Rick Roe", "rroe", "2026-11-30-23-59-59"): {},
    }
    files = {}
    for (name, user, when), uploads in attempts.items():
        files[f"{ASSIGNMENT}_{user}_attempt_{when}.txt"] = receipt(name, user, when, list(uploads))
        files.update({f"{ASSIGNMENT}_{user}_attempt_{when}_{f}": content for f, content in uploads.items()})
    return files


def canvas_files(good: dict[str, bytes] | None = None) -> dict[str, bytes]:
    """doejane's zip; smithbob LATE, with a -1 resubmission of his zip; lianna's loose files."""
    good = good or solution()
    return {
        "doejane_12345_67890_assignment08_DoeJane.zip": zipped(good),
        "smithbob_LATE_23456_70001_assignment08_SmithBob.zip": zipped({**good, "stream_queries.py": BROKEN}),
        "smithbob_LATE_23456_70002_assignment08_SmithBob-1.zip": zipped(good),
        "lianna_34567_70003_stream_data.py": good["stream_data.py"],
        "lianna_34567_70004_stream_queries.py": good["stream_queries.py"],
    }


def moodle_files(good: dict[str, bytes] | None = None) -> dict[str, bytes]:
    good = good or solution()
    return {
        "Jane Doe_100001_assignsubmission_file/assignment08_DoeJane.zip": zipped(good),
        "Bob Smith_100002_assignsubmission_file/stream_data.py": good["stream_data.py"],
        "Bob Smith_100002_assignsubmission_file/stream_queries.py": good["stream_queries.py"],
        "Kim Li_100003_assignsubmission_file/notes.pdf": b"%PDF-1.4\n",
    }


def write_zip(path: Path, files: dict[str, bytes], when: tuple[int, ...] = (2026, 11, 30, 21, 14, 2)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in files.items():
            zf.writestr(zipfile.ZipInfo(name, when), content)
    return path


def write_folder(root: Path, files: dict[str, bytes]) -> Path:
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)
    return root
