"""The catalogue: known-wrong submissions lose points exactly where catalogue.toml says, and
correct submissions in other styles get full marks.

A wrong submission is the reference with the edits catalogue.toml lists for it. The whole
catalogue is graded once, in one batch (the same path as `grader grade --jobs 2`);
each entry is then one test. A wrong one must lose points in its declared parts and only
there (every other part at full marks), fail exactly its declared checks when they are listed,
and its feedback must hold the declared phrases.

An entry that changes only stream_data.py shares its submission with one that changes only
stream_queries.py. The two files run in separate children and the replay, not the feed, fills
the queries' input, so each is judged on its own parts (8.1; 8.2a-c) and a pair costs one
grading, not two. Each entry's test looks only at the parts of its own file.
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

# 17 gradings (8 pairs, 4 single wrong entries, 5 right ones) on 2 workers. The module-scoped
# fixture is charged to the first test that uses it, so that test may need more than the
# project's default timeout (900 s) on a loaded machine.
pytestmark = [pytest.mark.spark, pytest.mark.timeout(1800)]

HERE = Path(__file__).resolve().parent / "catalogue"
CATALOGUE = tomllib.loads((HERE / "catalogue.toml").read_text(encoding="utf-8"))
WRONG: dict[str, dict] = CATALOGUE["wrong"]
RIGHT: dict[str, dict] = CATALOGUE["right"]
FILE_PARTS = {"stream_data.py": {"8.1"}, "stream_queries.py": {"8.2a", "8.2b", "8.2c"}}


def _file_of(name: str) -> str | None:
    """The one file an entry changes (None when it changes both)."""
    files = {edit["file"] for edit in WRONG[name].get("edit", [])}
    return files.pop() if len(files) == 1 else None


def _submissions() -> dict[str, list[str]]:
    """Submission folder -> the wrong entries it holds: feed-only entries paired with queries-only ones."""
    feeds = sorted(n for n in WRONG if _file_of(n) == "stream_data.py")
    queries = sorted(n for n in WRONG if _file_of(n) == "stream_queries.py")
    singles = feeds[len(queries):] + queries[len(feeds):] + sorted(set(WRONG) - set(feeds) - set(queries))
    return {f"{f}__{q}": [f, q] for f, q in zip(feeds, queries)} | {n: [n] for n in singles}


SUBMISSIONS = _submissions()
FOLDER_OF = {name: folder for folder, names in SUBMISSIONS.items() for name in names}


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


def build_wrong(names: list[str], target: Path) -> Path:
    """A wrong submission: the reference with the edits catalogue.toml lists for ``names``.

    Each edit's old text must stand exactly once in the reference, so a change to the reference
    that a mutation no longer fits fails here instead of silently grading the reference.
    """
    shutil.copytree(REFERENCE, target, ignore=shutil.ignore_patterns("__init__.py", "__pycache__"))
    for name in names:
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
    paths = [build_wrong(names, out.parent / "wrong" / folder) for folder, names in SUBMISSIONS.items()]
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
    folder = FOLDER_OF[name]
    grade = graded.grades[folder]
    report = _describe(grade, graded.rubric)
    assert grade.status == "graded", report
    # A paired entry answers for the parts of its own file; its partner, for the others.
    scope = FILE_PARTS[_file_of(name)] if len(SUBMISSIONS[folder]) > 1 else set(graded.rubric.parts)
    assert set(entry["parts"]) <= scope, f"{name} declares parts outside the file it changes"
    losing = {part for part, (got, top) in grade.part_scores(graded.rubric).items() if got < top and part in scope}
    assert losing == set(entry["parts"]), f"expected to lose points in {sorted(entry['parts'])}, lost in {sorted(losing)}\n{report}"
    if "checks" in entry:
        failed = {c.id for c in grade.checks if not c.passed and c.part in scope}
        assert failed == set(entry["checks"]), f"expected to fail {sorted(entry['checks'])}, failed {sorted(failed)}\n{report}"
    # The phrase must stand in feedback.md, and in a check of the entry's own parts (not its partner's).
    own = "\n".join(check_text(c) for c in grade.checks if c.part in scope)
    for phrase in entry.get("feedback", []):
        assert phrase in graded.feedback[folder], f"feedback lacks {phrase!r}\n{graded.feedback[folder]}"
        assert phrase in own, f"{phrase!r} is not in the feedback of {sorted(scope)}\n{own}"
