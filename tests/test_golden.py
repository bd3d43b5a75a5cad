"""Goldens are current, and grading is deterministic: the same submission, the same bytes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.batch import grade_batch
from grader.paths import BUNDLED_EXPECTED, REFERENCE
from tests.conftest import grading

pytestmark = pytest.mark.spark


def test_committed_goldens_are_what_regenerate_writes(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "grader", "regenerate", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(p.name for p in BUNDLED_EXPECTED.iterdir())
    for name in written:
        assert (tmp_path / name).read_bytes() == (BUNDLED_EXPECTED / name).read_bytes(), (
            f"fixtures/expected/{name} is stale: run `grader regenerate`"
        )


def test_grading_the_reference_twice_gives_the_same_bytes(tmp_path: Path) -> None:
    """Two copies side by side, in one batch: they share the cores and finish in either order, as a
    class does (a third copy, graded alone after them, cost the suite 10 s)."""
    copies = []
    for n in range(2):
        copy = tmp_path / "in" / f"assignment08_Reference{n}"
        shutil.copytree(REFERENCE, copy)
        copies.append(copy)
    settings = grading()
    result = grade_batch(copies, tmp_path / "out", settings, jobs=2)
    assert [g.score for g in result.grades] == [settings.rubric.max_score] * 2
    bodies = set()
    for n in range(2):
        report = json.loads((tmp_path / "out" / f"Reference{n}" / "results.json").read_text())
        report.pop("execution_time")
        report["extra_data"].pop("student")
        bodies.add(json.dumps(report, sort_keys=True))
        feedback = (tmp_path / "out" / f"Reference{n}" / "feedback.md").read_text()
        bodies.add(feedback.replace(f"Reference{n}", "Reference"))
    assert len(bodies) == 2, "results.json and feedback.md are identical across runs"
