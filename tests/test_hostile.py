"""Hostile submissions: each is stopped, explained in one sentence, and leaves nothing behind.

Two batches, graded once per module: the main corpus (nothing in it waits out a time limit, so
its limit is generous and the reference gets full marks even on a loaded machine) and a short
one whose every part runs until the time limit stops it. See tests/hostile.py for the cases.

The corpus writes into the project, HOME and /tmp, so it only runs where the sandbox confines it
(root, unshare): elsewhere it would really do so.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

from grader import engine
from grader.batch import BatchResult, grade_batch
from grader.contract import OUTPUTS, START
from grader.java import JavaMissing, require_java
from grader.paths import BUNDLED_DATA, REFERENCE
from grader.sandbox.isolation import choose, unavailable
from grader.sandbox.run import ChildRun, Limits, run_part
from grader.sandbox.watchdog import MARKER, marked
from grader.sandbox.workdir import prepare, stage
from tests.conftest import PROJECT, grading
from tests.hostile import Change, Submission, corpus, hanging, import_line

TAG = f"dsc650hostile{secrets.token_hex(4)}"
SLEEP = f"1000.{secrets.randbelow(10**6):06d}"  # `sleep 1000.NNNNNN`: ours, not anyone else's
MAIN = Limits(part_seconds=240)
HANG = Limits(part_seconds=30)
SLACK = 20.0  # seconds past a part's limit: the kill, the sweep, reading what the child left
JOBS = 2
CORPUS = corpus(TAG, SLEEP)
HANGING = hanging(HANG.part_seconds)
GUARDED = ("fixtures", "solution", "grader/__init__.py")  # hashed byte for byte before and after


def _worst_case(submissions: int, limits: Limits) -> float:
    """Seconds a batch of ``submissions`` may take if every part ran into its time limit."""
    return math.ceil(submissions / JOBS) * 2 * (limits.part_seconds + SLACK) + 60


# The batches run in the module fixture, inside the first test's time limit.
pytestmark = [pytest.mark.spark, pytest.mark.timeout(_worst_case(len(CORPUS) + 1, MAIN) + _worst_case(len(HANGING), HANG))]


@dataclass
class Graded:
    limits: Limits
    submissions: dict[str, Submission | None]  # student -> case (None: the reference)
    out: Path
    result: BatchResult
    seconds: float
    runs: dict[str, list[ChildRun]] = field(default_factory=dict)  # student -> its children


def _guarded() -> dict[str, bytes]:
    listed = subprocess.run(["git", "ls-files", "-z", *GUARDED], cwd=PROJECT, capture_output=True)
    names = [n for n in listed.stdout.decode().split("\0") if n] if listed.returncode == 0 else []
    if not names:
        names = [str(p.relative_to(PROJECT)) for g in GUARDED for p in sorted((PROJECT / g).rglob("*")) if p.is_file()]
        names += [g for g in GUARDED if (PROJECT / g).is_file()]
    return {name: (PROJECT / name).read_bytes() for name in names if (PROJECT / name).is_file()}


def _tagged_files() -> list[Path]:
    """Files the corpus may have written: named after the tag or holding it."""
    found = [p for folder in (Path("/tmp"), Path.home(), Path("~root").expanduser()) if folder.is_dir()
             for p in folder.iterdir() if TAG in p.name]
    for root, dirs, files in os.walk(PROJECT):
        dirs[:] = [d for d in dirs if d not in (".git", "__pycache__", ".pytest_cache", ".ruff_cache")]
        for name in files:
            path = Path(root, name)
            try:
                if TAG in name or (path.stat().st_size < 2**21 and TAG.encode() in path.read_bytes()):
                    found.append(path)
            except OSError:
                continue
    return found


def _ours() -> list[psutil.Process]:
    """Processes the corpus started, by their command line."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        line = " ".join(proc.info["cmdline"] or [])
        if TAG in line or SLEEP in line:
            found.append(proc)
    return found


def _grade(root: Path, cases: list[Submission], limits: Limits, reference: bool) -> Graded:
    submissions: dict[str, Submission | None] = {case.student: case for case in cases}
    folders = [case.write(root / "in") for case in cases]
    if reference:
        folder = root / "in" / "assignment08_Reference"
        shutil.copytree(REFERENCE, folder, ignore=shutil.ignore_patterns("__pycache__", "results"))
        folders.append(folder)
        submissions["Reference"] = None
    by_source = {(f / "stream_data.py").read_text() + (f / "stream_queries.py").read_text(): f.name.split("_", 1)[1]
                 for f in folders}
    runs: dict[str, list[ChildRun]] = {}
    real = engine.run_part

    def spy(part, work, *args, **kwargs) -> ChildRun:
        run = real(part, work, *args, **kwargs)
        submission = Path(work) / "submission"
        source = (submission / "stream_data.py").read_text() + (submission / "stream_queries.py").read_text()
        runs.setdefault(by_source.get(source, "?"), []).append(run)
        return run

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine, "run_part", spy)
        began = time.monotonic()
        result = grade_batch(folders, root / "out", grading(limits, isolation=choose("namespaces")), jobs=JOBS)
        seconds = time.monotonic() - began
    return Graded(limits, submissions, root / "out", result, seconds, runs)


@dataclass
class Outcome:
    main: Graded
    hang: Graded
    guarded_before: dict[str, bytes]
    guarded_after: dict[str, bytes]
    tagged: list[Path]
    alive: list[str]


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outcome]:
    if unavailable("namespaces"):
        pytest.skip("the hostile corpus runs only where the sandbox confines it as root with namespaces: it would write into the project")
    try:
        require_java()
    except JavaMissing as error:
        pytest.skip(str(error))
    before = _guarded()
    try:
        main = _grade(tmp_path_factory.mktemp("main"), CORPUS, MAIN, reference=True)
        hang = _grade(tmp_path_factory.mktemp("hang"), HANGING, HANG, reference=False)
    finally:
        after = _guarded()
        for name, content in before.items():  # never leave the project damaged for the next test
            if after.get(name) != content:
                (PROJECT / name).write_bytes(content)
    time.sleep(1)  # a daemon that escaped would have written again by now
    alive = [f"{p.pid}: {' '.join(p.info['cmdline'] or [])}" for p in _ours() if p.is_running()]
    yield Outcome(main, hang, before, after, _tagged_files(), alive)
    for proc in _ours():
        try:
            proc.kill()
        except psutil.Error:
            pass


def _results(graded: Graded, student: str) -> dict:
    return json.loads((graded.out / student / "results.json").read_text(encoding="utf-8"))


def _part_outputs(results: dict, part: str) -> list[str]:
    """Check outputs of rubric part ``8.1`` or of every ``8.2*`` part."""
    return [t["output"] for t in results["tests"] if t["name"].split(" ", 1)[0].startswith(part)]


def _part_score(results: dict, part: str) -> tuple[float, float]:
    tests = [t for t in results["tests"] if t["name"].split(" ", 1)[0].startswith(part)]
    return sum(t["score"] for t in tests), sum(t["max_score"] for t in tests)


def _cases() -> list[tuple[str, str, str, Change]]:
    found = []
    for batch, cases in (("main", CORPUS), ("hang", HANGING)):
        for case in cases:
            for part, change in (("8.1", case.feed), ("8.2", case.queries)):
                if change is not None:
                    found.append((batch, case.student, part, change))
    return found


def test_every_submission_has_a_row_results_and_feedback(graded: Outcome) -> None:
    for batch in (graded.main, graded.hang):
        rows = (batch.out / "gradebook.csv").read_text(encoding="utf-8").splitlines()[1:]
        assert sorted(row.split(",", 1)[0] for row in rows) == sorted(batch.submissions)
        for student in batch.submissions:
            feedback = (batch.out / student / "feedback.md").read_text(encoding="utf-8")
            assert not re.search(r"[?!:;]\.", feedback), f"{student}: a sentence ends twice\n{feedback}"
            assert _results(batch, student)["extra_data"]["status"] == "graded", student
        assert batch.result.grader_errors == 0


@pytest.mark.parametrize(("batch", "student", "part", "change"), _cases(), ids=[f"{s}-{p}-{c.name}" for _, s, p, c in _cases()])
def test_the_feedback_says_why(graded: Outcome, batch: str, student: str, part: str, change: Change) -> None:
    chosen = graded.main if batch == "main" else graded.hang
    results = _results(chosen, student)
    feedback = (chosen.out / student / "feedback.md").read_text(encoding="utf-8")
    outputs = _part_outputs(results, part)
    for phrase in change.says:
        assert any(re.search(phrase, output) for output in outputs), f"{part} of {student} never says /{phrase}/:\n" + "\n".join(outputs)
        assert re.search(phrase, feedback), f"feedback.md of {student} never says /{phrase}/"
    for phrase in change.notes:
        assert any(re.search(phrase, note) for note in results["extra_data"]["notes"]), results["extra_data"]["notes"]
        assert re.search(phrase, feedback)
    got, top = _part_score(results, part)
    if change.breaks:
        assert got < top, f"{change.name} should cost {student} points in {part}"
    else:
        assert got == top, f"{change.name} was neutralised and should cost nothing in {part}:\n" + "\n".join(outputs)


def test_the_gradebook_reason_says_the_root_cause_first(graded: Outcome) -> None:
    """A syntax error in either file: the gradebook's reason names the exception and its line."""
    rows = {row["student"]: row for row in csv.DictReader((graded.main.out / "gradebook.csv").open(encoding="utf-8"))}
    reason = rows["Syntax"]["reason"]
    for name in ("stream_data.py", "stream_queries.py"):
        assert re.search(rf"SyntaxError at {re.escape(name)} line {import_line(name)}\b", reason), reason
    assert reason.startswith("8.1: "), reason


def test_only_the_reference_gets_full_marks(graded: Outcome) -> None:
    full = [student for batch in (graded.main, graded.hang) for student in batch.submissions
            if _results(batch, student)["score"] == _results(batch, student)["max_score"]]
    assert full == ["Reference"], full


def test_no_process_is_left_behind(graded: Outcome) -> None:
    assert not graded.alive, graded.alive
    runs = [run for batch in (graded.main, graded.hang) for child in batch.runs.values() for run in child]
    assert len(runs) == 2 * (len(graded.main.submissions) + len(graded.hang.submissions))
    found = [p.pid for run in runs for p in marked(run.token)]
    assert not found, f"processes with {MARKER} of this test still run: {found}"


def test_nothing_outside_the_sandbox_changed(graded: Outcome) -> None:
    changed = sorted(n for n in graded.guarded_before.keys() | graded.guarded_after.keys()
                     if graded.guarded_before.get(n) != graded.guarded_after.get(n))
    assert not changed, f"the corpus changed project files (restored): {changed}"
    assert not graded.tagged, f"the corpus wrote outside its sandbox: {graded.tagged}"
    assert any(n.startswith("fixtures/expected/") for n in graded.guarded_before)


def test_the_time_is_bounded_by_the_limits(graded: Outcome) -> None:
    for batch in (graded.main, graded.hang):
        per_submission = batch.limits.part_seconds + SLACK  # both parts run at once
        assert batch.seconds <= _worst_case(len(batch.submissions), batch.limits), f"{batch.seconds:.0f} s for {len(batch.submissions)} submissions"
        for student in batch.submissions:
            seconds = _results(batch, student)["execution_time"]
            assert seconds <= per_submission, student
            assert seconds == round(max(run.seconds for run in batch.runs[student]), 3), student  # the longer part's
        for student, runs in batch.runs.items():
            for run in runs:
                assert run.seconds <= batch.limits.part_seconds + SLACK, (student, run.part, run.seconds)
    for case in HANGING:
        for run in graded.hang.runs[case.student]:
            assert run.killed == "time", (case.student, run.part, run.killed)
            assert run.seconds >= HANG.part_seconds, (case.student, run.part, run.seconds)


def test_every_child_ran_confined(graded: Outcome) -> None:
    runs = [run for batch in (graded.main, graded.hang) for child in batch.runs.values() for run in child]
    assert runs and all(run.confined for run in runs)


PLANT = '''
import json, os
attempts = {}
for target in TARGETS:
    try:
        if os.path.isdir(target):
            with open(os.path.join(target, "planted"), "w") as f:
                f.write("planted")
        else:
            with open(target, "a") as f:
                f.write("planted")
        attempts[target] = "written"
    except OSError as error:
        attempts[target] = type(error).__name__
print("ATTEMPTS " + json.dumps(attempts))
'''


def test_the_feed_cannot_plant_the_queries_outputs_while_both_run(tmp_path: Path) -> None:
    """The parts run at once: the feed child, started first, finds the queries' outputs and spec
    already staged and read-only, so nothing it writes there can reach the judging."""
    if unavailable("namespaces"):
        pytest.skip("the parts are confined in namespaces only as root with unshare")
    work, folder = tmp_path / "work", tmp_path / "submission"
    folder.mkdir()
    targets = [str(work / name) for name in OUTPUTS["queries"]] + [str(work / "queries.spec.json")]
    (folder / "stream_data.py").write_text(f"TARGETS = {targets!r}\n{PLANT}")
    (folder / "stream_queries.py").write_text("")
    submission, data, _ = prepare(work, folder, BUNDLED_DATA)
    stage(work, submission, data, START, list(OUTPUTS), {})
    spec = (work / "queries.spec.json").read_bytes()
    run = run_part("feed", work, choose("namespaces"), HANG)
    assert run.confined
    line = next(line for line in run.stdout.splitlines() if line.startswith("ATTEMPTS "))
    attempts = json.loads(line.removeprefix("ATTEMPTS "))
    assert set(attempts) == set(targets) and "written" not in attempts.values(), attempts
    for name in OUTPUTS["queries"]:
        path = work / name
        assert (not any(path.iterdir())) if path.is_dir() else path.read_bytes() == b"", name
    assert (work / "queries.spec.json").read_bytes() == spec
