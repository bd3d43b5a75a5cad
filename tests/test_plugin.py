"""The pytest plugin (`pytest --submission PATH`), run through pytester: one item per rubric check,
the check's feedback as failure text, a score table; and nothing at all where it is not asked for."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from grader.paths import BUNDLED_DATA, REFERENCE
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


def test_a_damaged_grading_dataset_is_one_line_not_a_failed_check_each(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    shutil.copytree(BUNDLED_DATA, data)
    broken = sorted((data / "locations").glob("t=*/*.parquet"))[0]
    broken.write_bytes(b"not parquet")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    result = pytester.runpytest_subprocess("--submission", str(REFERENCE), "--grade-data-dir", str(data),
                                           "-p", "no:cacheprovider", timeout=120)
    assert result.ret == 4
    result.stdout.fnmatch_lines([f"*--grade-data-dir {data}: {broken} does not read as parquet*"])
    assert "Traceback" not in result.stdout.str() and "FAILED" not in result.stdout.str()


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
