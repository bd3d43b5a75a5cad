"""Which LMS a bulk download came from, told by its names alone, and the download split into members.

The download is unpacked (or, as a folder, walked) under the intake's rules before any student's files
are looked at; each student's own zip is then taken in by ``grader.intake`` like any upload."""

from __future__ import annotations

import os
import time
import zipfile
from pathlib import Path

from grader.intake import _UNREADABLE, DOWNLOAD_FIX, IntakeLimits, Rejected, _declared_count, _name, unpack_download
from grader.lms import blackboard, canvas, moodle
from grader.lms.members import Download

KINDS = {"blackboard": blackboard, "canvas": canvas, "moodle": moodle}
_CLUTTER = ("__MACOSX/", "/.DS_Store", "/._")


def names(path: Path, only: set[str] | None = None) -> list[str]:
    """The file names in a zip or under a folder (``only``: under these of its entries), clutter left out;
    [] for anything unreadable."""
    path = Path(path)
    if path.is_dir():
        found = [(Path(here) / f).relative_to(path).as_posix() for here, _dirs, files in os.walk(path) for f in files]
        found = [n for n in found if only is None or n.split("/", 1)[0] in only]
    else:
        try:
            if not zipfile.is_zipfile(path) or (_declared_count(path) or 0) > 100_000:
                return []
            with zipfile.ZipFile(path) as zf:
                found = [n for n in zf.namelist() if not n.endswith("/")]
        except _UNREADABLE:
            return []
    return sorted(n for n in found if not any(c in f"/{n}" for c in _CLUTTER))


def detect(path: Path, only: set[str] | None = None) -> str | None:
    """The LMS whose naming most of the files follow, or None: an ordinary upload, taken in as today."""
    listed = names(path, only)
    if not listed:
        return None
    counts = {kind: sum(module.matches(n) for n in listed) for kind, module in KINDS.items()}
    kind = max(sorted(counts), key=lambda k: counts[k])
    return kind if counts[kind] * 2 > len(listed) else None


def glob_of_one(paths: list[Path]) -> tuple[Path, str] | None:
    """The folder a glob of an unzipped download (``'download/*'``) came from, and its LMS, when it is one:
    the paths share a parent, none is a download itself, and together they are named as one LMS names its files."""
    if len(paths) < 2 or len({Path(p).parent for p in paths}) != 1 or any(detect(p) for p in paths):
        return None
    kind = detect(Path(paths[0]).parent, {Path(p).name for p in paths})
    return (Path(paths[0]).parent, kind) if kind else None


def split(path: Path, scratch: Path, limits: IntakeLimits, kind: str, only: set[str] | None = None) -> Download:
    """Unpack the download (its files checked as any upload's) and make one member per student;
    ``only``: a folder's entries that are the download (a glob of it)."""
    path, scratch = Path(path), Path(scratch)
    notes: list[str] = []
    if path.is_dir():
        root = path
        files, notes = walk(path, limits, only)
        stamps = {rel: _mtime(p) for rel, p in files}
    else:
        root = scratch / "download"
        notes = unpack_download(path, root, limits)
        files = [((Path(h) / f).relative_to(root).as_posix(), Path(h) / f) for h, _d, fs in os.walk(root) for f in fs]
        files.sort()
        with zipfile.ZipFile(path) as zf:
            stamps = {_name(info): info.date_time for info in zf.infolist()}
    students = scratch / "students"
    students.mkdir(parents=True, exist_ok=True)
    module = KINDS[kind]
    download = module.split(files, students, stamps) if kind == "moodle" else module.split(files, students)
    download.notes = [*notes, *download.notes]
    if not download.members:
        raise Rejected(f"The download {path.name!r} looks like {module.NAME}'s, but holds no student's files "
                       f"({len(files)} file(s)); {DOWNLOAD_FIX}.")
    return download


def walk(root: Path, limits: IntakeLimits, only: set[str] | None = None) -> tuple[list[tuple[str, Path]], list[str]]:
    """An unzipped download's files (relative name, path) under the intake's limits; links never followed."""
    files, notes, total = [], [], 0
    for here, dirs, found in os.walk(root):
        if only is not None and Path(here) == root:
            dirs[:], found = [d for d in dirs if d in only], [f for f in found if f in only]
        links = [d for d in dirs if os.path.islink(os.path.join(here, d))]
        notes += [f"left out {(Path(here) / d).relative_to(root).as_posix()!r}/: a symbolic link" for d in sorted(links)]
        dirs[:] = sorted(d for d in dirs if d != "__MACOSX" and d not in links)
        for name in sorted(found):
            path = Path(here) / name
            rel = path.relative_to(root).as_posix()
            if any(c in f"/{rel}" for c in _CLUTTER):
                continue
            if path.is_symlink() or not path.is_file():
                notes.append(f"left out {rel!r}: a symbolic link or not a regular file")
                continue
            if (size := path.stat().st_size) > limits.max_entry_bytes:
                notes.append(f"left out {rel!r}: {size:,} bytes, more than the limit of {limits.max_entry_bytes:,}")
                continue
            total += size
            files.append((rel, path))
    if len(files) > limits.max_entries or total > limits.max_total_bytes:
        raise Rejected(f"The download folder {root.name!r} holds {len(files)} files of {total:,} bytes, more than the "
                       f"limits ({limits.max_entries} files, {limits.max_total_bytes:,} bytes); {DOWNLOAD_FIX}.")
    return files, notes


def _mtime(path: Path) -> tuple[int, ...]:
    return tuple(time.gmtime(path.stat().st_mtime)[:6])
