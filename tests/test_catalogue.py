"""The catalogue: known-wrong submissions lose points exactly where catalogue.toml says, and
correct submissions in other styles get full marks.

A wrong submission is the reference with the edits catalogue.toml lists for it. The whole
catalogue is graded once, in one batch (the same path as `grader grade --jobs 2`);
each submission is then one test. A wrong one must lose points in its declared parts and only
there (every other part at full marks), fail exactly its declared checks when they are listed,
and its feedback must hold the declared phrases.
"""

from __future__ import annotations

import re
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader.batch import grade_batch
from grader.checks import CHECK_IDS
from grader.engine import Grade
from grader.reference import BUNDLED_DATA, REFERENCE, expected_for
from grader.reports import check_text
from grader.rubric import DEFAULT_RUBRIC, Rubric, load_rubric
from grader.sandbox import Limits

# About 22 submissions at ~22 s each on 2 workers: 4-5 minutes on an idle 2-core machine, 12 minutes
# measured on a shared one (load average 14). The module-scoped fixture is charged to the first
# test that uses it, so that test needs more than the project's default timeout (900 s).
pytestmark = [pytest.mark.spark, pytest.mark.timeout(1800)]

HERE = Path(__file__).resolve().parent / "catalogue"
CATALOGUE = tomllib.loads((HERE / "catalogue.toml").read_text(encoding="utf-8"))
WRONG: dict[str, dict] = CATALOGUE["wrong"]
RIGHT: dict[str, dict] = CATALOGUE["right"]


@dataclass
class Graded:
    grades: dict[str, Grade]
    feedback: dict[str, str]
    rubric: Rubric


def _folders(kind: str) -> set[str]:
    return {p.name for p in (HERE / kind).iterdir() if p.is_dir() and not p.name.startswith((".", "_"))}


def _describe(grade: Grade, rubric: Rubric) -> str:
    parts = ", ".join(f"{part} {got:g}/{top:g}" for part, (got, top) in grade.part_scores(rubric).items())
    failed = "\n".join(f"[{c.id}] {check_text(c)}" for c in grade.checks if not c.passed)
    return f"{grade.student}: {grade.status} {grade.score:g}/{grade.max_score:g} ({parts})\n{grade.reason}\n{failed}"


def build_wrong(name: str, target: Path) -> Path:
    """A wrong submission: the reference with the edits catalogue.toml lists for it.

    Each edit's old text must stand exactly once in the reference, so a change to the reference
    that a mutation no longer fits fails here instead of silently grading the reference.
    """
    shutil.copytree(REFERENCE, target, ignore=shutil.ignore_patterns("__init__.py", "__pycache__"))
    for edit in WRONG[name]["edit"]:
        path = target / edit["file"]
        text = path.read_text(encoding="utf-8")
        assert text.count(edit["old"]) == 1, f"{name}: its edit of {edit['file']} no longer fits the reference"
        path.write_text(text.replace(edit["old"], edit["new"]), encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    rubric = load_rubric(DEFAULT_RUBRIC, known=CHECK_IDS)
    limits = Limits()
    out = tmp_path_factory.mktemp("catalogue")
    paths = [build_wrong(name, out.parent / "wrong" / name) for name in WRONG]
    paths += [HERE / "right" / name for name in RIGHT]
    result = grade_batch(paths, out, BUNDLED_DATA, expected_for(BUNDLED_DATA, limits), rubric, limits, jobs=2)
    assert result.grader_errors == 0, "\n".join(_describe(g, rubric) for g in result.grades if g.status == "error")
    grades = {g.student: g for g in result.grades}
    feedback = {name: (out / name / "feedback.md").read_text(encoding="utf-8") for name in grades}
    return Graded(grades, feedback, rubric)


def test_catalogue_matches_folders() -> None:
    """Every right folder is declared and every declaration has one; names are unique; parts and ids exist."""
    assert _folders("right") == set(RIGHT)
    assert not set(WRONG) & set(RIGHT)
    rubric = load_rubric(DEFAULT_RUBRIC, known=CHECK_IDS)
    for name, entry in WRONG.items():
        assert entry.get("mutation"), f"{name}: say what the mutation is"
        assert entry.get("parts") and set(entry["parts"]) <= set(rubric.parts), name
        checks = entry.get("checks", [])
        assert set(checks) <= CHECK_IDS, name
        assert {rubric.item(c).part for c in checks} <= set(entry["parts"]), f"{name}: a check outside its parts"
        assert entry.get("edit"), f"{name}: list its edits of the reference"
        assert any(re.search(r"# MUTATION: \S", e["new"]) for e in entry["edit"]), f"{name}: mark the changed line with # MUTATION: ..."
    for name, entry in RIGHT.items():
        assert entry.get("variant"), f"{name}: say what style the variant shows"


@pytest.mark.parametrize("name", sorted(RIGHT))
def test_right_variant_gets_full_marks(graded: Graded, name: str) -> None:
    grade = graded.grades[name]
    assert grade.status == "graded", _describe(grade, graded.rubric)
    assert grade.score == grade.max_score, _describe(grade, graded.rubric)


@pytest.mark.parametrize("name", sorted(WRONG))
def test_wrong_submission_loses_points_where_declared(graded: Graded, name: str) -> None:
    entry = WRONG[name]
    grade = graded.grades[name]
    report = _describe(grade, graded.rubric)
    assert grade.status == "graded", report
    losing = {part for part, (got, top) in grade.part_scores(graded.rubric).items() if got < top}
    assert losing == set(entry["parts"]), f"expected to lose points in {sorted(entry['parts'])}, lost in {sorted(losing)}\n{report}"
    if "checks" in entry:
        failed = {c.id for c in grade.checks if not c.passed}
        assert failed == set(entry["checks"]), f"expected to fail {sorted(entry['checks'])}, failed {sorted(failed)}\n{report}"
    for phrase in entry.get("feedback", []):
        assert phrase in graded.feedback[name], f"feedback lacks {phrase!r}\n{graded.feedback[name]}"
