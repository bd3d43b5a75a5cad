"""``pytest --submission PATH``: the rubric as pytest items, one per check, and a score table.

Registered through the ``pytest11`` entry point. With ``--submission`` (a folder or a zip) the
rubric grades that submission; without it, inside this project, it grades the reference. The
submission is graded once per session, in the same sandbox as ``grader grade``; each item then
passes or fails with the check's feedback as its failure text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from grader.paths import CHECKOUT

GRADE_KEY = pytest.StashKey[Any]()
RUBRIC_KEY = pytest.StashKey[Any]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dsc650", "DSC 650 Assignment 8 grading")
    group.addoption("--submission", metavar="PATH", help="grade this folder or zip against the rubric")
    group.addoption("--grade-data-dir", metavar="DIR", help="dataset to grade on (default: the bundled fixtures)")
    group.addoption("--grade-timeout", type=float, metavar="S", help="seconds each part may run (default: by dataset size)")
    group.addoption("--no-rubric", action="store_true", help="run the tests only, not the rubric")


def _wants_rubric(config: pytest.Config) -> bool:
    if config.getoption("--no-rubric"):
        return False
    if config.getoption("--submission"):
        return True
    # No option: grade the reference, but only in this project and only for a whole-suite run.
    in_project = Path(str(config.rootpath)).resolve() == CHECKOUT
    explicit = any(not str(arg).startswith("-") for arg in config.invocation_params.args)
    return in_project and not explicit


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "rubric: a rubric check of the graded submission")
    if _wants_rubric(config) or Path(str(config.rootpath)).resolve() == CHECKOUT:
        from grader.java import JavaMissing, require_java

        try:
            require_java()
        except JavaMissing as error:
            pytest.exit(str(error), returncode=3)


class RubricFailure(Exception):
    """A failed rubric check; its text is the check's feedback."""


class RubricItem(pytest.Item):
    def __init__(self, *, check_id: str, part: str, title: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check_id, self.part, self.title = check_id, part, title
        self.add_marker("rubric")

    def runtest(self) -> None:
        grade = _grade(self.config)
        check = next(c for c in grade.checks if c.id == self.check_id)
        if not check.passed:
            from grader.reports import check_text

            raise RubricFailure(check_text(check, grade.redacted, grade.part_notes.get(check.part)))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, RubricFailure):
            return f"{self.part} {self.title}\n{excinfo.value}"
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[str, int | None, str]:
        return "rubric", None, f"{self.part} {self.title}"


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    if not _wants_rubric(config):
        return
    from grader.checks.registry import CHECK_IDS
    from grader.rubric import DEFAULT_RUBRIC, load_rubric

    rubric = load_rubric(DEFAULT_RUBRIC, known=CHECK_IDS)
    config.stash[RUBRIC_KEY] = rubric
    for item in rubric.items:
        items.append(RubricItem.from_parent(session, name=f"rubric[{item.id}]", check_id=item.id, part=item.part, title=item.title))


def _grade(config: pytest.Config) -> Any:
    if GRADE_KEY not in config.stash:
        from grader.batch import Grading, grade_path
        from grader.dataset import DatasetError
        from grader.engine import limits_for
        from grader.golden import GoldenError
        from grader.paths import BUNDLED_DATA, reference
        from grader.reference import expected_for

        submission = Path(config.getoption("--submission") or reference())
        data_dir = Path(config.getoption("--grade-data-dir") or BUNDLED_DATA)
        timeout = config.getoption("--grade-timeout")
        try:
            expected = expected_for(data_dir, limits_for(data_dir, timeout) if timeout else None)
            limits = limits_for(data_dir, timeout, expected=expected)
        except (GoldenError, DatasetError) as error:  # the dataset, not the submission: said once, in one line
            pytest.exit(f"--grade-data-dir {data_dir}: {error}", returncode=4)
        grading = Grading(data_dir, expected, config.stash[RUBRIC_KEY], limits)
        config.stash[GRADE_KEY] = grade_path(submission.resolve(), grading)
    return config.stash[GRADE_KEY]


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if GRADE_KEY not in config.stash:
        return
    grade, rubric = config.stash[GRADE_KEY], config.stash[RUBRIC_KEY]
    terminalreporter.section(f"Assignment 8 score: {grade.student}")
    for part, (got, top) in grade.part_scores(rubric).items():
        terminalreporter.write_line(f"  {rubric.parts[part]:<40} {got:>5g} / {top:g}")
    terminalreporter.write_line(f"  {'total':<40} {grade.score:>5g} / {grade.max_score:g}")
    if grade.reason:
        terminalreporter.write_line(f"  {grade.reason}")
    from grader.reports import isolation_text

    terminalreporter.write_line(f"  isolation: {isolation_text(grade)}")
