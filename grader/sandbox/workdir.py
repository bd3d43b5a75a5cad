"""The work folder of one grading: everything a child may touch, and nothing else.

    work/submission/         the submission's files (read-only to the children)
    work/data/               the dataset (read-only)
    work/<part>.spec.json    what the child is to do (read-only)
    work/home/<part>/, work/tmp/<part>/   each part's HOME and TMPDIR
    work/feed.json, work/feed/, ...       each part's outputs (``grader.contract.OUTPUTS``)

Where children run as sandbox users (``grader.sandbox.users``), file ownership does what read-only
mounts do elsewhere: the copies belong to root and the grading's group, each part's outputs to
that part's user alone.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import datetime
from pathlib import Path

from grader.contract import OUTPUTS
from grader.sandbox.users import Slot

PACKED = "packed"  # the data's pack (grader.dataset.pack), which the replay reads the rows from
SKIPPED = ("results", "__pycache__")  # run leftovers a student may have zipped, never graded


def remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def copy_tree(source: Path, dest: Path) -> list[str]:
    """Copy ``source``'s files and folders into ``dest``; symbolic links are never followed (one
    could lead into the grader's files) nor copied. Returns the links left out, relative."""
    links: list[str] = []
    dest.mkdir(parents=True)
    for here, dirs, files in os.walk(source):  # never descends into a linked folder
        rel = Path(here).relative_to(source)
        for name in sorted(dirs):
            if os.path.islink(os.path.join(here, name)):
                links.append((rel / name).as_posix())
                dirs.remove(name)
            elif name in SKIPPED or name.startswith("."):
                dirs.remove(name)
            else:
                (dest / rel / name).mkdir()
        for name in sorted(files):
            path = Path(here, name)
            if path.is_symlink():
                links.append((rel / name).as_posix())
            elif not name.startswith(".") and path.is_file():
                shutil.copyfile(path, dest / rel / name, follow_symlinks=False)
    return links


def _own(root: Path, uid: int, gid: int, dir_mode: int, file_mode: int) -> None:
    if not root.is_dir():
        os.chown(root, uid, gid, follow_symlinks=False)
        os.chmod(root, file_mode)
        return
    for here, _dirs, files in os.walk(root):
        os.chown(here, uid, gid)
        os.chmod(here, dir_mode)
        for name in files:
            os.chown(os.path.join(here, name), uid, gid, follow_symlinks=False)
            os.chmod(os.path.join(here, name), file_mode)


def _link_or_copy(source: str, dest: str) -> None:
    try:
        os.link(source, dest)
    except OSError:  # another file system, or links refused
        shutil.copy2(source, dest)


def prepare(work: Path, submission: Path, data_dir: Path, slot: Slot | None = None,
            packed: Path | None = None, link: bool = False) -> tuple[Path, Path, list[str]]:
    """Copy the submission, the data and the data's pack (if given) into ``work``; return the
    copies and any notes. With ``link`` (only where the children see these copies through a
    read-only mount: the namespace modes) the data's files are hard links, not copies: copying the
    original release's 6,440 files took 1.7 s before the children could start, linking 0.1 s."""
    work.mkdir(parents=True, exist_ok=True)
    for folder in (work / "home", work / "tmp"):
        folder.mkdir(exist_ok=True)
    sub, data = work / "submission", work / "data"
    links = copy_tree(submission, sub)
    copy = _link_or_copy if link and slot is None else shutil.copy2  # a slot's copies are chowned: never links
    shutil.copytree(data_dir, data, copy_function=copy)
    if packed is not None:
        shutil.copytree(packed, work / PACKED, copy_function=copy)
    notes = [f"left out {len(links)} symbolic link(s) ({', '.join(links[:3])}): links are not followed; "
             "put the real files in the folder"] if links else []
    if slot is not None:
        for path in (work, work / "home", work / "tmp"):
            os.chown(path, 0, slot.gid)
            os.chmod(path, 0o750)
        for tree in (sub, data, work / PACKED):
            if tree.exists():
                _own(tree, 0, slot.gid, 0o750, 0o640)
    return sub, data, notes


def stage(work: Path, submission: Path, data_dir: Path, start: datetime, parts: list[str], specs: dict[str, dict],
          slot: Slot | None = None) -> None:
    """Make ``parts`` ready to run, before any of them starts.

    Each part's outputs are emptied (anything there was planted) and created empty, and its spec
    is written: so when two parts run at once, each finds the other's outputs and spec in place
    and out of its reach from its first instant. ``specs`` adds part-specific fields.
    """
    for part in parts:
        uid = slot.uids[part] if slot else None
        for name in OUTPUTS[part]:
            remove(work / name)
            if "." in name:
                (work / name).touch()
            else:
                (work / name).mkdir()
        for folder in (work / "home" / part, work / "tmp" / part):
            remove(folder)
            folder.mkdir(parents=True)
        if slot is not None and uid is not None:
            for name in [*OUTPUTS[part], f"home/{part}", f"tmp/{part}"]:
                _own(work / name, uid, slot.gid, 0o700, 0o600)
        spec = {"part": part, "work": str(work), "submission": str(submission), "data_dir": str(data_dir),
                "start": start.isoformat(), **specs.get(part, {})}
        spec_path = work / f"{part}.spec.json"
        remove(spec_path)
        spec_path.write_text(json.dumps(spec))
        if slot is not None:
            os.chown(spec_path, 0, slot.gid)
            os.chmod(spec_path, 0o640)
