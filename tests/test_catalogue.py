"""The catalogue: known-wrong submissions lose points exactly where catalogue.toml says, and
correct submissions in other styles get full marks.

A wrong submission is the reference with the edits catalogue.toml lists for it; a right one is a
folder of its own (another style) or, too, the reference with edits (a setting that must change
nothing, such as a processing-time trigger). The whole
catalogue is graded once, in one batch (the same path as `grader grade --jobs 2`);
each entry is then one test. A wrong one must lose points in its declared parts and only
there (every other part at full marks), fail exactly its declared checks when they are listed,
and its feedback must hold the declared phrases. ``pytest tests/test_catalogue.py --catalogue-data original``
grades it on data of the original release's size (or ``--catalogue-data ../shared/bdd``): the verdicts must not
change with the data.

Entries confined to different parts share a submission: one that changes only stream_data.py
(8.1), and queries-only ones whose 8.2 parts do not overlap. The feed and the
queries run in separate children, the replay (not the feed) fills the queries' input, and each
8.2 part is its own query, so each entry is judged on its own parts, and a submission of four
entries costs one grading. The right edits of the reference (settings that must change nothing)
share one copy of it too. Each entry's test looks at its own parts and at the parts no other
entry of its submission claims (which must be at full marks).
"""

from __future__ import annotations

import re
import shutil
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from grader.batch import grade_batch
from grader.checks.registry import CHECK_IDS
from grader.engine import limits_for
from grader.paths import REFERENCE
from grader.reports import check_text
from grader.rubric import DEFAULT_RUBRIC, Rubric, load_rubric
from grader.verdict import Grade
from tests.conftest import grading

# One grading per packed wrong submission and per right submission (16 today) on 2 workers. The module-scoped
# fixture is charged to the first test that uses it, so that test may need more than the
# project's default timeout (900 s) on a loaded machine.
pytestmark = [pytest.mark.spark, pytest.mark.timeout(1800)]

HERE = Path(__file__).resolve().parent / "catalogue"
CATALOGUE = tomllib.loads((HERE / "catalogue.toml").read_text(encoding="utf-8"))
WRONG: dict[str, dict] = CATALOGUE["wrong"]
RIGHT: dict[str, dict] = CATALOGUE["right"]


def _file_of(name: str) -> str | None:
    """The one file an entry changes (None when it changes both)."""
    files = {edit["file"] for edit in WRONG[name].get("edit", [])}
    return files.pop() if len(files) == 1 else None


def _slot(name: str) -> frozenset[str] | None:
    """The parts an entry's edits are confined to: 8.1 for a feed-only entry, its 8.2 parts for a
    queries-only entry; None when it must be graded alone (it changes both files, or says so)."""
    file, parts = _file_of(name), frozenset(WRONG[name]["parts"])
    if WRONG[name].get("alone"):
        return None
    if file == "stream_data.py" and parts == {"8.1"}:
        return parts
    return parts if file == "stream_queries.py" and "8.1" not in parts else None


def _edits_fit(entries: list[dict]) -> bool:
    """Whether the entries' edits all apply to one copy of the reference (no anchor used twice)."""
    assert REFERENCE is not None
    texts = {name: (REFERENCE / name).read_text(encoding="utf-8") for name in ("stream_data.py", "stream_queries.py")}
    for edit in (e for entry in entries for e in entry["edit"]):
        if texts[edit["file"]].count(edit["old"]) != 1:
            return False
        texts[edit["file"]] = texts[edit["file"]].replace(edit["old"], edit["new"])
    return True


def _first_fit(names: list[str], fits: Callable[[list[str], str], bool]) -> list[list[str]]:
    """``names`` in groups: each joins the first group it fits beside, or starts one."""
    groups: list[list[str]] = []
    for name in names:
        home = next((group for group in groups if fits(group, name)), None)
        if home is None:
            groups.append([name])
        else:
            home.append(name)
    return groups


def _submissions() -> dict[str, list[str]]:
    """Submission folder -> the wrong entries it holds. Entries confined to different parts share a
    submission (no part claimed twice, when their edits fit together): the parts run in separate
    children or as separate queries, so each is judged on its own parts, and the catalogue costs
    fewer gradings. An entry that changes both files is graded alone, and so is one that says
    ``alone = true`` (one whose start_queries raises: the grader then starts the other queries itself)."""
    def fits(group: list[str], name: str) -> bool:
        slot = _slot(name)
        return (slot is not None and all(_slot(n) is not None and not slot & _slot(n) for n in group)
                and _edits_fit([WRONG[n] for n in [*group, name]]))

    groups = _first_fit(sorted(WRONG, key=lambda n: (_slot(n) is None, -len(_slot(n) or ()), n)), fits)
    return {"__".join(group): group for group in groups}


def _right_submissions() -> dict[str, list[str]]:
    """Submission folder -> the right entries it holds. A right folder is graded as it is; the
    right edits of the reference (settings that must change nothing) share one copy of it where
    their edits fit together: together they must still get full marks and each its feedback."""
    groups = [[name] for name in sorted(RIGHT) if "edit" not in RIGHT[name]]
    groups += _first_fit(sorted(n for n in RIGHT if "edit" in RIGHT[n]),
                         lambda group, name: _edits_fit([RIGHT[n] for n in [*group, name]]))
    return {"__".join(group): group for group in groups}


SUBMISSIONS = _submissions()
FOLDER_OF = {name: folder for folder, names in SUBMISSIONS.items() for name in names}
RIGHT_SUBMISSIONS = _right_submissions()
RIGHT_FOLDER_OF = {name: folder for folder, names in RIGHT_SUBMISSIONS.items() for name in names}


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


def build(entries: list[dict], target: Path) -> Path:
    """The reference with the edits catalogue.toml lists for ``entries``.

    Each edit's old text must stand exactly once in the reference, so a change to the reference
    that a mutation no longer fits fails here instead of silently grading the reference.
    """
    assert REFERENCE is not None
    shutil.copytree(REFERENCE, target, ignore=shutil.ignore_patterns("__init__.py", "__pycache__"))
    for entry in entries:
        for edit in entry["edit"]:
            path = target / edit["file"]
            text = path.read_text(encoding="utf-8")
            assert text.count(edit["old"]) == 1, f"{edit['new']!r}: its edit of {edit['file']} no longer fits the reference"
            path.write_text(text.replace(edit["old"], edit["new"]), encoding="utf-8")
    return target


def build_wrong(names: list[str], target: Path) -> Path:
    return build([WRONG[name] for name in names], target)


def right_folder(names: list[str], scratch: Path) -> Path:
    """A right variant: its own folder under right/, or the reference with the edits of ``names``."""
    if "edit" not in RIGHT[names[0]]:
        return HERE / "right" / names[0]
    return build([RIGHT[name] for name in names], scratch)


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory, catalogue_data: Path) -> Graded:
    """The whole catalogue, graded on ``--catalogue-data`` (the fixtures unless told)."""
    limits = replace(limits_for(catalogue_data, jobs=2), start_seconds=10.0)  # start_awaits_termination waits this long: the reference starts its queries in 1-2 s
    settings = grading(limits, data_dir=catalogue_data)
    rubric = settings.rubric
    out = tmp_path_factory.mktemp("catalogue")
    paths = [build_wrong(names, out.parent / "wrong" / folder) for folder, names in SUBMISSIONS.items()]
    paths += [right_folder(names, out.parent / "right" / folder) for folder, names in RIGHT_SUBMISSIONS.items()]
    result = grade_batch(paths, out, settings, jobs=2)
    assert result.grader_errors == 0, "\n".join(_describe(g, rubric) for g in result.grades if g.status == "error")
    grades = {g.source: g for g in result.grades}  # by folder: a student id is cut at 80 characters
    feedback = {g.source: (out / g.student / "feedback.md").read_text(encoding="utf-8") for g in result.grades}
    return Graded(grades, feedback, rubric)


def test_the_goldens_tell_the_time_limit_the_data_does(graded: Graded, catalogue_data: Path) -> None:
    """A grading takes its time limit from the goldens' size where it has them (no read of the data
    before the children start); the limit must be the one the data gives."""
    from grader.reference import expected_for

    expected = expected_for(catalogue_data)  # made for the catalogue's grading: in the cache now
    assert limits_for(catalogue_data, jobs=2, expected=expected) == limits_for(catalogue_data, jobs=2)


def test_catalogue_matches_folders() -> None:
    """Every right folder is declared and every declaration has one; names are unique; parts and ids exist."""
    assert _folders("right") == {name for name, entry in RIGHT.items() if "edit" not in entry}
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
        assert not entry.get("edit") or all("# VARIANT: " in e["new"] for e in entry["edit"]), f"{name}: mark each edit with # VARIANT: ..."


@pytest.mark.parametrize("name", sorted(RIGHT))
def test_right_variant_gets_full_marks(graded: Graded, name: str) -> None:
    folder = RIGHT_FOLDER_OF[name]
    grade = graded.grades[folder]
    assert grade.status == "graded", _describe(grade, graded.rubric)
    assert grade.score == grade.max_score, _describe(grade, graded.rubric)
    for phrase in RIGHT[name].get("feedback", []):
        assert phrase in graded.feedback[folder], f"feedback lacks {phrase!r}\n{graded.feedback[folder]}"


@pytest.mark.parametrize("name", sorted(WRONG))
def test_wrong_submission_loses_points_where_declared(graded: Graded, name: str) -> None:
    entry = WRONG[name]
    folder = FOLDER_OF[name]
    grade = graded.grades[folder]
    report = _describe(grade, graded.rubric)
    assert grade.status == "graded", report
    # An entry answers for its own parts, and for the parts no entry beside it claims (at full marks).
    claimed = {part for other in SUBMISSIONS[folder] if other != name for part in WRONG[other]["parts"]}
    scope = set(graded.rubric.parts) - claimed
    assert set(entry["parts"]) <= scope, f"{name} declares parts another entry of {folder} claims"
    losing = {part for part, (got, top) in grade.part_scores(graded.rubric).items() if got < top and part in scope}
    assert losing == set(entry["parts"]), f"expected to lose points in {sorted(entry['parts'])}, lost in {sorted(losing)}\n{report}"
    if "checks" in entry:
        failed = {c.id for c in grade.checks if not c.passed and c.part in scope}
        assert failed == set(entry["checks"]), f"expected to fail {sorted(entry['checks'])}, failed {sorted(failed)}\n{report}"
    # The phrase must stand in feedback.md, and in a check of the entry's own parts (not its partner's).
    own = "\n".join(check_text(c, part_notes=grade.part_notes.get(c.part)) for c in grade.checks if c.part in scope)
    for phrase in entry.get("feedback", []):
        assert phrase in graded.feedback[folder], f"feedback lacks {phrase!r}\n{graded.feedback[folder]}"
        assert phrase in own, f"{phrase!r} is not in the feedback of {sorted(scope)}\n{own}"
