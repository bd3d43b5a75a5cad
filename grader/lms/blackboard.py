"""Blackboard Learn: the Assignment File Download (per attempt, renamed files and a receipt) and
Grade Center's upload CSV (students matched by Username, the column by its ``|id``)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from grader.lms.members import Download, File, Member, compose, name_members, safe

NAME = "Blackboard"
COLUMN = "Assignment 8 [Total Pts: 26 Score]"  # no |id: Grade Center makes a new column
# "<assignment>_<username>_attempt_<timestamp>" then "_<original name>" (a file) or ".txt" (the receipt)
_ATTEMPT = re.compile(r"^(?P<head>.+)_attempt_(?P<when>\d{4}(?:-\d\d){5})(?:_(?P<original>.+)|(?P<receipt>\.txt))$")
_WHO = re.compile(r"^\s*\S[^:\n]*:\s*(?P<name>.*?)\s*\((?P<user>[^()\s]+)\)\s*$", re.M)  # Name: / Navn: ...
_LISTED = re.compile(r"^\t[^:\n]+:\s*(?P<name>.+?)\s*$", re.M)  # "\tOriginal filename: x" and "\tFilename: y"


def matches(name: str) -> bool:
    return bool(_ATTEMPT.match(name.rsplit("/", 1)[-1]))


def split(files: list[tuple[str, Path]], scratch: Path) -> Download:
    """One member per username, graded on the newest attempt; older attempts are named in its notes."""
    attempts: dict[tuple[str, str], dict] = {}  # (head, when) -> receipt text and files
    strays = []
    for rel, path in files:
        found = _ATTEMPT.match(rel.rsplit("/", 1)[-1])
        if not found:
            strays.append(rel)
            continue
        attempt = attempts.setdefault((found["head"], found["when"]), {"receipt": None, "files": []})
        if found["receipt"]:
            attempt["receipt"] = path.read_text(encoding="utf-8-sig", errors="replace")
        else:
            attempt["files"].append(File(rel, found["original"], path, found["when"]))
    heads = {head for head, _ in attempts}
    users = {}  # head -> (username, full name): the receipt's "Name: Full Name (username)" is the reliable one
    for (head, _), attempt in sorted(attempts.items()):
        if attempt["receipt"] and (who := _WHO.search(attempt["receipt"])) and head.endswith(f"_{who['user']}"):
            users[head] = (who["user"], who["name"])
    assignment = _assignment(users) if users else None
    for head in sorted(heads - set(users)):  # no receipt: the assignment's name is the receipts' (or ends at its first _)
        user = head[len(assignment) + 1:] if assignment and head.startswith(f"{assignment}_") else head.split("_", 1)[-1]
        users[head] = (user, user)
    by_user: dict[str, list[tuple[str, dict]]] = {}
    for (head, when), attempt in attempts.items():
        by_user.setdefault(users[head][0], []).append((when, attempt))
    members = []
    for user, tries in sorted(by_user.items()):
        tries.sort(key=lambda t: t[0])
        name = next((users[h][1] for h in sorted(heads) if users[h][0] == user), user)
        member = Member(NAME, user, name, submitted=tries[-1][0])
        if len(tries) > 1:
            member.notes.append(f"graded the latest attempt ({tries[-1][0]}); older attempt(s) not graded: "
                                + ", ".join(when for when, _ in tries[:-1]))
        members.append(member)
    name_members(members, {i: safe(m.identity) for i, m in enumerate(members)})
    for member in members:
        when, attempt = by_user[member.identity][-1]
        what = f"The Blackboard attempt of {when}"
        missing = []
        if attempt["receipt"] is None:
            member.notes.append(f"the attempt of {when} has no receipt in the download")
        else:
            held = {f.name.rsplit("/", 1)[-1] for f in attempt["files"]}
            missing = sorted(n for n in set(_LISTED.findall(attempt["receipt"])) - held if "_attempt_" in n)
            if missing:
                member.notes.append(f"the receipt lists {', '.join(missing[:3])}, which the download does not hold")
        compose(member, attempt["files"], scratch, what)
        if attempt["receipt"] and not attempt["files"]:
            member.reason = (f"{what}'s receipt lists {', '.join(missing[:3])}, but the download does not hold it; "
                             "download the attempt again from Grade Center." if missing else
                             f"{what} has a receipt but no files (none were attached); there is nothing to grade.")
    notes = [f"not a Blackboard attempt's file, so no student's: {', '.join(strays[:5])}"
             + (f" and {len(strays) - 5} more" if len(strays) > 5 else "")] if strays else []
    return Download(NAME, members, notes)


def _assignment(users: dict[str, tuple[str, str]]) -> str:
    """The assignment's name: what the receipts' file names hold before ``_<username>``, the most common."""
    heads = [head[: -len(user) - 1] for head, (user, _) in users.items()]
    return max(sorted(set(heads)), key=heads.count)


def write(rows: list[dict[str, str]], path: Path, column: str | None) -> None:
    """Grade Center's upload: every value quoted, UTF-8 with a BOM; the summary as the feedback to the learner."""
    header = ["Last Name", "First Name", "Username", column or COLUMN, "Feedback to Learner", "Feedback Format"]
    with Path(path).open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
        writer.writerow(header)
        for row in rows:
            first, _, last = row["lms_name"].rpartition(" ")
            writer.writerow([last, first, row["lms_id"], row["score"], row["summary"], "SMART_TEXT"])
