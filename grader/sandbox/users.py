"""Sandbox users: where root may not make namespaces (Docker's default profile, so Gradescope),
student code runs as an unprivileged user of its own instead.

Each grading running at once holds a slot: a group and two users, one per part, so the feed and
the queries cannot reach each other's outputs. A slot is held with a lock file, so two graders
on one machine never share one. Everything a slot's user runs is the child's: when a part ends,
every process of that user is killed, however it was started, and its files in the shared
temporary folders are removed.
"""

from __future__ import annotations

import fcntl
import grp
import os
import pwd
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil

from grader.sandbox.watchdog import kill

BASE_ID = 59650  # uids and gids BASE_ID.. (below Debian's reserved 60000-64999 and systemd's dynamic users)
SLOTS = 16  # gradings at once (``--jobs`` is at most 16)
PARTS = ("feed", "queries")
SHARED_TMP = (Path("/tmp"), Path("/var/tmp"), Path("/dev/shm"))


class SandboxError(RuntimeError):
    """The sandbox could not be set up: a fault of the grader or the machine, never the student's."""


@dataclass(frozen=True)
class Slot:
    index: int
    gid: int
    uids: dict[str, int]  # part -> uid

    @property
    def group(self) -> str:
        return f"dsc650-sb{self.index:02d}"

    def user(self, part: str) -> str:
        return f"{self.group}-{part}"


def slot(index: int) -> Slot:
    first = BASE_ID + len(PARTS) * index
    return Slot(index, first, {part: first + n for n, part in enumerate(PARTS)})


def _exists(lookup, key: int, name: str, what: str) -> bool:
    try:
        found = lookup(key)[0]
    except KeyError:
        return False
    if found != name:
        raise SandboxError(f"{what} {key} belongs to {found}, not to the grader's sandbox ({name}): "
                           f"the sandbox users need ids {BASE_ID}-{BASE_ID + 2 * SLOTS - 1}")
    return True


def ensure_users(chosen: Slot) -> None:
    """Create the slot's group and users when they are missing (``setup.sh`` makes slot 0's)."""
    commands = []
    if not _exists(grp.getgrgid, chosen.gid, chosen.group, "group id"):
        commands.append(["groupadd", "--system", "--gid", str(chosen.gid), chosen.group])
    for part, uid in chosen.uids.items():
        if not _exists(pwd.getpwuid, uid, chosen.user(part), "user id"):
            commands.append(["useradd", "--system", "--uid", str(uid), "--gid", str(chosen.gid), "--no-create-home",
                             "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", chosen.user(part)])
    for command in commands:
        if not shutil.which(command[0]):
            raise SandboxError(f"the sandbox user {command[-1]} does not exist and {command[0]} is not installed")
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise SandboxError(f"could not create the sandbox user {command[-1]}: {done.stderr.strip()[:300]}")


def processes_of(uid: int) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["uids"]):
        uids = proc.info["uids"]
        if uids is not None and uid in (uids.real, uids.effective, uids.saved):
            found.append(proc)
    return found


def kill_user(uid: int) -> None:
    """Kill every process of ``uid``: a sandbox user runs nothing but the child's processes."""
    for _ in range(3):  # a process may fork while the first ones die
        procs = processes_of(uid)
        if not procs:
            return
        kill(procs)


def sweep(uid: int) -> None:
    """Remove what ``uid`` left in the shared temporary folders (its own files go nowhere else)."""
    for folder in SHARED_TMP:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_uid != uid:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
            except OSError:
                continue


def lock_folder() -> Path:
    return Path(sys.prefix) / "var" / "dsc650-grader" / "slots"


@contextmanager
def take_slot() -> Iterator[Slot]:
    """Hold a free slot for one grading; its users have nothing running before or after."""
    folder = lock_folder()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    for index in range(SLOTS):
        handle = (folder / f"{index}.lock").open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        break
    else:
        raise SandboxError(f"all {SLOTS} sandbox slots are taken by other gradings on this machine")
    chosen = slot(index)
    try:
        ensure_users(chosen)
        for uid in chosen.uids.values():
            kill_user(uid)  # left by a grader that crashed
        yield chosen
    finally:
        for uid in chosen.uids.values():
            kill_user(uid)
            sweep(uid)
        handle.close()
