"""Shared fixtures: one SparkSession per test session, the course's real data when present."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.reference import BUNDLED_DATA
from grader.sandbox import PROJECT

REAL_DATA = PROJECT.parent / "shared" / "bdd"


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The course's real data (read-only, never copied into the project)."""
    if not (REAL_DATA / "accelerations").is_dir():
        pytest.skip(f"the course's real data is not at {REAL_DATA}")
    return REAL_DATA


@pytest.fixture(scope="session")
def fixture_data() -> Path:
    return BUNDLED_DATA


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from grader.spark import session

    spark = session(tmp_path_factory.mktemp("spark"), app="grader-tests")
    yield spark
    spark.stop()
