"""Every place the grader runs: what student code can reach there, and what the report says.

One intruder and the reference are graded with `grader grade`, in each mode the grader claims:
as root with namespaces (an instructor's machine, a CI runner under sudo), as root without
CAP_SYS_ADMIN (Docker, so Gradescope: simulated with capsh), and as a normal user (a laptop, a CI
runner: simulated with setpriv) with user namespaces, and without any (`--isolation unconfined`).
The intruder copies the reference and the goldens when it can read them (so its score says
whether it could), writes into the grader, its venv and the fixtures, and leaves a process
behind. Confined, it gets nothing and changes nothing; unconfined, the report says so.
"""

from __future__ import annotations

import csv
import hashlib
import os
import secrets
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from grader.paths import CHECKOUT, REFERENCE
from grader.sandbox.isolation import unavailable
from tests.machines import NOBODY, docker_like, normal_user

pytestmark = [pytest.mark.spark, pytest.mark.timeout(1800)]

TAG = f"dsc650intruder{secrets.token_hex(4)}"
SLEEP = f"1000.{secrets.randbelow(10**6):06d}"
SITE = Path(sys.prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
FIND = """import grader as _grader
from pathlib import Path as _Path
_PROJECT = _Path(_grader.__file__).resolve().parent.parent
"""
INTRUDER_FEED = FIND + f"""import subprocess as _sp, sys as _sys
_sp.Popen(["sleep", {SLEEP!r}], start_new_session=True, stdout=_sp.DEVNULL, stderr=_sp.DEVNULL)
for _target in (_PROJECT / "grader" / "__init__.py", _PROJECT / "fixtures" / "expected" / "joined.parquet",
                _PROJECT / "fixtures" / "data" / "{TAG}.parquet", _Path({str(SITE)!r}) / "{TAG}.pth"):
    try:
        with open(_target, "a") as _handle:
            _handle.write("# {TAG}\\n")
    except OSError:
        pass
try:
    exec((_PROJECT / "solution" / "assignment08" / "stream_data.py").read_text())
except OSError:
    pass
"""
INTRUDER_QUERIES = FIND + """try:
    _GOLDEN = (_PROJECT / "fixtures" / "expected" / "joined.parquet").read_bytes()
    exec((_PROJECT / "solution" / "assignment08" / "stream_queries.py").read_text())
except OSError:
    pass
"""


@dataclass
class Graded:
    mode: str
    rows: dict[str, dict[str, str]]  # student -> gradebook row
    feedback: dict[str, str]
    done: subprocess.CompletedProcess


def _submissions(root: Path) -> list[Path]:
    intruder = root / "assignment08_Intruder"
    intruder.mkdir(parents=True)
    (intruder / "stream_data.py").write_text(INTRUDER_FEED)
    (intruder / "stream_queries.py").write_text(INTRUDER_QUERIES)
    assert REFERENCE is not None
    reference = shutil.copytree(REFERENCE, root / "assignment08_Reference", ignore=shutil.ignore_patterns("__pycache__"))
    for folder in (root, intruder, reference):
        folder.chmod(0o755)
        for file in folder.iterdir():
            file.chmod(0o755 if file.is_dir() else 0o644)
    return [intruder, reference]


def _guarded() -> dict[str, str]:
    """Every file of the project but the caches, by content hash, and what is in the venv's site-packages."""
    assert CHECKOUT is not None
    found = {}
    for folder in ("grader", "fixtures", "solution", "starter", "sample"):
        for path in sorted((CHECKOUT / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    found["site-packages"] = " ".join(sorted(p.name for p in SITE.iterdir()))
    return found


def _modes() -> dict[str, int]:
    """The permissions the sandbox-user isolation may take away (restored after each grading)."""
    assert CHECKOUT is not None
    paths = [*CHECKOUT.iterdir(), *(CHECKOUT / "fixtures").iterdir()]
    return {str(p): stat.S_IMODE(p.lstat().st_mode) for p in paths if not p.is_symlink()}


def _grade(mode: str, tmp: Path) -> Graded:
    inputs, out, home = tmp / "in", tmp / "out", tmp / "home"
    paths = _submissions(inputs)
    for folder in (tmp, out, home):
        folder.mkdir(exist_ok=True)
        folder.chmod(0o755)
        if mode in ("user-namespaces", "unconfined"):
            os.chown(folder, NOBODY, NOBODY)
    grade = shlex.join([sys.executable, "-m", "grader", "grade", *map(str, paths), "--out", str(out), "--jobs", "2"])
    command = {
        "namespaces": ["sh", "-c", grade],
        "sandbox-user": docker_like(grade),
        "user-namespaces": normal_user(grade, home),
        "unconfined": normal_user(grade + " --isolation unconfined", home),
    }[mode]
    modes = _modes()
    try:
        done = subprocess.run(command, cwd=tmp, capture_output=True, text=True, timeout=900,
                              env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    finally:
        for path, bits in modes.items():
            os.chmod(path, bits)
    rows = {row["student"]: row for row in csv.DictReader((out / "gradebook.csv").open())} if (out / "gradebook.csv").is_file() else {}
    feedback = {name: (out / name / "feedback.md").read_text() for name in rows}
    return Graded(mode, rows, feedback, done)


def _ours() -> list[str]:
    return [" ".join(p.info["cmdline"] or []) for p in psutil.process_iter(["cmdline"]) if SLEEP in " ".join(p.info["cmdline"] or [])]


MODES = ("namespaces", "sandbox-user", "user-namespaces", "unconfined")


@pytest.fixture(scope="module")
def graded() -> dict[str, tuple[Graded, dict[str, str], dict[str, str], list[str]]]:
    if os.geteuid() != 0 or shutil.which("capsh") is None:
        pytest.skip("simulating Gradescope and a normal user needs root and capsh (libcap2-bin)")
    if unavailable("namespaces"):
        pytest.skip(f"this machine cannot confine as root: {unavailable('namespaces')}")
    found = {}
    for mode in MODES:
        before = _guarded()
        scratch = Path(tempfile.mkdtemp(prefix=f"dsc650-{mode}-"))  # not under pytest's 0700 folder: nobody must reach it
        try:
            result = _grade(mode, scratch)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        time.sleep(1)  # an escaped process would have written again by now
        found[mode] = (result, before, _guarded(), _ours())
    return found


@pytest.mark.parametrize("mode", MODES)
def test_the_report_says_the_mode_it_got(graded: dict, mode: str) -> None:
    result, *_ = graded[mode]
    assert result.done.returncode == 0, result.done.stdout[-3000:] + result.done.stderr[-3000:]
    assert {row["isolation"] for row in result.rows.values()} == {mode}, result.done.stderr[-2000:]
    said = "NOT confined" if mode == "unconfined" else "confined"
    assert all(f"Isolation: {said}" in text for text in result.feedback.values())


@pytest.mark.parametrize("mode", MODES)
def test_the_reference_gets_full_marks_and_no_note_about_leftovers(graded: dict, mode: str) -> None:
    result, *_ = graded[mode]
    row = result.rows["Reference"]
    assert row["score"] == row["max_score"] == "26", row
    assert "still running" not in result.feedback["Reference"], result.feedback["Reference"]


@pytest.mark.parametrize("mode", ["namespaces", "sandbox-user", "user-namespaces"])
def test_confined_the_intruder_gets_nothing_and_changes_nothing(graded: dict, mode: str) -> None:
    result, before, after, alive = graded[mode]
    assert result.rows["Intruder"]["score"] == "0", result.feedback["Intruder"]
    assert "process(es) your code started were still running" in result.feedback["Intruder"]
    assert before == after, sorted(k for k in before if before.get(k) != after.get(k))
    assert not alive, alive


def test_unconfined_the_report_says_so_and_files_are_safe_only_by_their_owner(graded: dict) -> None:
    result, before, after, alive = graded["unconfined"]
    assert result.rows["Intruder"]["score"] == "26", "unconfined, the intruder reads the reference (world-readable here)"
    assert "NOT confined" in result.feedback["Intruder"]
    assert before == after, "the grader's files belong to root: a normal user's child could not write them"
    assert not alive, alive
