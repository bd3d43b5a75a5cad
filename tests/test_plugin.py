"""`pytest --submission PATH`: one item per rubric check, feedback as failure text, a score table."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.reference import REFERENCE
from grader.rubric import DEFAULT_RUBRIC, load_rubric

pytestmark = pytest.mark.spark


def test_a_zip_submission_is_graded_with_a_score_table(tmp_path: Path) -> None:
    folder = tmp_path / "assignment08"
    shutil.copytree(REFERENCE, folder)
    queries = folder / "stream_queries.py"
    queries.write_text(queries.read_text().replace('"full_outer"', '"inner"'))  # 8.2c: no outer rows
    archive = tmp_path / "assignment08_DoeJane.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for file in folder.iterdir():
            zf.write(file, f"assignment08/{file.name}")
    done = subprocess.run([sys.executable, "-m", "pytest", "--submission", str(archive), "-p", "no:cacheprovider", "-q",
                           "--rootdir", str(tmp_path)], capture_output=True, text=True, cwd=tmp_path, timeout=600)
    out = done.stdout
    rubric = load_rubric(DEFAULT_RUBRIC)
    assert done.returncode == 1, out[-3000:]
    assert f"{len(rubric.items) - 1} passed" in out and "1 failed" in out
    assert "FAILED ::rubric[joined.unmatched]" in out and "inner join? Use how='full_outer'" in out
    assert "Assignment 8 score: DoeJane" in out
    top = sum(i.points for i in rubric.items if i.part == "8.2c")
    got = top - rubric.item("joined.unmatched").points
    assert f"{got:g} / {top:g}" in out.split("Assignment 8 score")[1]
