"""Shared fixtures: one SparkSession per test session, the course's real data when present."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.paths import BUNDLED_DATA, CHECKOUT
from grader.sandbox.isolation import Isolation
from grader.sandbox.run import Limits

PROJECT = CHECKOUT or Path(__file__).resolve().parent.parent
REAL_DATA = PROJECT.parent / "shared" / "bdd"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--catalogue-data", default="small", metavar="SIZE|DIR",
                     help="grade the catalogue on this dataset: a generated size (small = the bundled fixtures, real, "
                          "original; seed 0) or a dataset folder such as ../shared/bdd")


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
def generated(tmp_path_factory: pytest.TempPathFactory):  # -> Callable[[str, int], Path]
    """A (size, seed) dataset, generated once per session and read-only by convention (the
    original release's size takes ~20 s); small seed 0 is the committed fixtures."""
    from grader.fixtures import generate

    made: dict[tuple[str, int], Path] = {("small", 0): BUNDLED_DATA}

    def get(size: str, seed: int) -> Path:
        if (size, seed) not in made:
            made[(size, seed)] = generate(tmp_path_factory.mktemp(f"{size}-{seed}"), seed=seed, size=size)
        return made[(size, seed)]

    return get


@pytest.fixture(scope="session")
def catalogue_data(request: pytest.FixtureRequest, generated) -> Path:
    """The dataset the catalogue is graded on (``--catalogue-data``): every verdict must be the same on each."""
    from grader.fixtures import SIZES

    chosen = request.config.getoption("--catalogue-data")
    if chosen in SIZES:
        return generated(chosen, 0)
    if not (Path(chosen) / "accelerations").is_dir():
        raise pytest.UsageError(f"--catalogue-data {chosen}: neither a size ({', '.join(SIZES)}) nor a dataset folder")
    return Path(chosen).resolve()


def grading(limits: Limits | None = None, data_dir: Path = BUNDLED_DATA, isolation: Isolation | None = None):  # -> Grading
    """What a batch in a test is graded with: the bundled rubric, the dataset's goldens."""
    from grader.batch import Grading
    from grader.checks.registry import CHECK_IDS
    from grader.engine import limits_for
    from grader.reference import expected_for
    from grader.rubric import DEFAULT_RUBRIC, load_rubric

    limits = limits or limits_for(data_dir)
    return Grading(data_dir, expected_for(data_dir, limits), load_rubric(DEFAULT_RUBRIC, known=CHECK_IDS), limits, isolation)


class _ArchiveBuild(threading.Thread):
    """The JVM class archive every JVM of the session maps: built once per virtual environment
    (about 40 s) when absent, behind the tests that start no JVM (they need one core)."""

    def __init__(self) -> None:
        super().__init__(name="class-archive", daemon=True)
        self.said: list[str] = []
        self.archive: Path | None = None

    def run(self) -> None:
        from grader.replay import class_archive

        self.archive = class_archive.ensure(say=self.said.append)

    def wait(self) -> Path | None:
        """The archive (None without one), built now if the build has not started."""
        if self.ident is None:
            self.start()
        self.join()
        while self.said:
            print(self.said.pop(0), file=sys.stderr)
        return self.archive


_ARCHIVE = _ArchiveBuild()


@pytest.hookimpl(trylast=True)  # after -m and -k have deselected
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that start no JVM run first (in their order), those that do after them, and the
    class archive, if absent, is built beside the first ones."""
    spark = [item for item in items if item.get_closest_marker("spark")]
    if not spark or config.option.collectonly:
        return
    items[:] = [item for item in items if not item.get_closest_marker("spark")] + spark
    if len(spark) < len(items) and _ARCHIVE.ident is None:
        _ARCHIVE.start()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """No JVM starts before the archive is there: a grading would start without it."""
    if item.get_closest_marker("spark"):
        _ARCHIVE.wait()


@pytest.fixture(scope="session")
def class_archive() -> Path | None:
    return _ARCHIVE.wait()


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory, class_archive: Path | None) -> Iterator[object]:
    from grader.replay.class_archive import use_options
    from grader.replay.spark import session

    spark = session(tmp_path_factory.mktemp("spark"), app="grader-tests",
                    java_options=use_options(class_archive) if class_archive else "")
    yield spark
    spark.stop()


pytest_plugins = ["pytester"]
