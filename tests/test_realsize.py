"""Data the size of the course's: settings that change only speed change nothing there either.

On the bundled fixtures (six steps) a processing-time trigger or 200 shuffle partitions cost little;
on 34 steps they stopped correct solutions at the time limit. The catalogue's speed_settings variant
(triggers of 5 and 10 s, 200 shuffle partitions, Spark's default state store and join format,
maxFilesPerTrigger = 1) is graded here on the
real data where it is, and on a generated dataset of its size where it is not (CI): one grading,
not two, on a machine that holds both. Their times beside the reference's are the benchmark's (README, "Speed").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.batch import grade_batch
from grader.fixtures import generate
from grader.verdict import Grade
from tests.conftest import REAL_DATA, grading
from tests.test_catalogue import RIGHT, build

pytestmark = [pytest.mark.spark, pytest.mark.timeout(1800)]


def grade_speed_settings(data_dir: Path, tmp: Path) -> Grade:
    variant = build([RIGHT["speed_settings"]], tmp / "assignment08_SpeedSettings")
    result = grade_batch([variant], tmp / "out", grading(data_dir=data_dir))  # goldens: the reference, on first use
    return result.grades[0]


def assert_full_marks_and_said(grade: Grade) -> None:
    failed = [f"{c.id}: {c.summary}" for c in grade.checks if not c.passed]
    assert grade.status == "graded" and grade.score == grade.max_score, failed
    said = "\n".join(grade.notes)
    for phrase in RIGHT["speed_settings"]["feedback"]:
        assert phrase in said, said


def test_speed_settings_change_nothing_on_generated_data_the_size_of_the_courses(tmp_path: Path) -> None:
    if (REAL_DATA / "accelerations").is_dir():
        pytest.skip("the course's real data is here: the next test grades on it (this one stands in where it is absent)")
    data = generate(tmp_path / "data", seed=11, size="real")
    assert_full_marks_and_said(grade_speed_settings(data, tmp_path))


@pytest.mark.realdata
def test_speed_settings_change_nothing_on_the_real_data(real_data: Path, tmp_path: Path) -> None:
    assert_full_marks_and_said(grade_speed_settings(real_data, tmp_path))
