"""The rubric file: what instructors edit, validated with messages that name the line to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.checks.registry import CHECK_IDS
from grader.rubric import DEFAULT_RUBRIC, RubricError, load_rubric

GOOD = """
[parts]
"8.1" = "feed"
[[check]]
id = "feed.cleanup"
part = "8.1"
points = 2.5
title = "cleanup"
"""


def test_bundled_rubric_covers_every_check_once() -> None:
    rubric = load_rubric(DEFAULT_RUBRIC, known=CHECK_IDS)
    assert {item.id for item in rubric.items} == CHECK_IDS
    assert set(rubric.parts) == {"8.1", "8.2a", "8.2b", "8.2c"}


def test_points_come_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "rubric.toml"
    path.write_text(GOOD)
    assert load_rubric(path, known=CHECK_IDS).max_score == 2.5


def test_feedback_on_hidden_data_is_a_summary_unless_the_rubric_says_full(tmp_path: Path) -> None:
    path = tmp_path / "rubric.toml"
    path.write_text(GOOD)
    assert load_rubric(path, known=CHECK_IDS).hidden_feedback == "summary"
    path.write_text(GOOD + '[feedback]\nhidden = "full"\n')
    assert load_rubric(path, known=CHECK_IDS).hidden_feedback == "full"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace('id = "feed.cleanup"', 'id = "feed.typo"'), "feed.typo is not one the grader knows"),
        (GOOD.replace('part = "8.1"', 'part = "9"'), "names part '9', which \\[parts\\] does not list"),
        (GOOD.replace("points = 2.5\n", ""), "has no points"),
        (GOOD.replace("points = 2.5", "points = -1"), "negative points"),
        (GOOD + GOOD.split("[[check]]")[1].join(["[[check]]", ""]), "appears twice"),
        ("[parts\n", "cannot read rubric"),
        (GOOD.replace("points = 2.5", 'points = "ten"'), "has points = 'ten', not a number"),
        (GOOD.replace('[parts]\n"8.1" = "feed"', ""), "\\[parts\\] is missing or empty"),
        ('check = 3\n[parts]\n"8.1" = "feed"\n', "`check` must be a list of \\[\\[check\\]\\] tables"),
        (GOOD + '[feedback]\nhidden = "some"\n', 'hidden = \'some\': use "summary" or "full"'),
    ],
)
def test_mistakes_are_named(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "rubric.toml"
    path.write_text(text)
    with pytest.raises(RubricError, match=message):
        load_rubric(path, known=CHECK_IDS)
