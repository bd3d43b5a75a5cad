"""The pytest plugin (`pytest --submission PATH`), run through pytester: one item per rubric check,
the check's feedback as failure text, a score table; and nothing at all where it is not asked for."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from grader.paths import REFERENCE
from grader.rubric import DEFAULT_RUBRIC, load_rubric

RUBRIC = load_rubric(DEFAULT_RUBRIC)


def test_outside_the_project_without_an_option_it_adds_nothing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_mine="def test_mine():\n    assert True\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "Assignment 8 score" not in result.stdout.str() and "rubric" not in result.stdout.str()


def test_its_options_are_in_the_help(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*DSC 650 Assignment 8 grading*", "*--submission=PATH*", "*--no-rubric*"])


@pytest.mark.spark
def test_a_zip_submission_is_graded_with_a_score_table(pytester: pytest.Pytester, tmp_path: Path) -> None:
    assert REFERENCE is not None
    folder = tmp_path / "assignment08"
    shutil.copytree(REFERENCE, folder)
    queries = folder / "stream_queries.py"
    queries.write_text(queries.read_text().replace('"full_outer"', '"inner"'))  # 8.2c: no outer rows
    archive = tmp_path / "assignment08_DoeJane.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for file in folder.iterdir():
            zf.write(file, f"assignment08/{file.name}")
    result = pytester.runpytest_subprocess("--submission", str(archive), "-p", "no:cacheprovider", "-ra", timeout=600)
    result.assert_outcomes(passed=len(RUBRIC.items) - 1, failed=1)
    result.stdout.fnmatch_lines(["*Assignment 8 score: DoeJane*", "*isolation: *", "*FAILED *rubric?joined.unmatched?*"])
    assert "inner join? Use how='full_outer'" in result.stdout.str()
    top = sum(i.points for i in RUBRIC.items if i.part == "8.2c")
    got = top - RUBRIC.item("joined.unmatched").points
    assert f"{got:g} / {top:g}" in result.stdout.str().split("Assignment 8 score")[1]
