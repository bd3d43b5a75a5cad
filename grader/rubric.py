"""The rubric file, read and validated: what each check is worth and which part it belongs to."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

DEFAULT_RUBRIC = Path(__file__).with_name("rubric.toml")


class RubricError(ValueError):
    """The rubric file is wrong; the message names the line to fix."""


@dataclass(frozen=True)
class Item:
    id: str
    part: str
    points: float
    title: str


FEEDBACK = ("summary", "full")


@dataclass(frozen=True)
class Rubric:
    parts: dict[str, str]
    items: tuple[Item, ...]
    # What feedback shows on a dataset students have not seen (--data-dir, --seed, a Gradescope
    # package's hidden set): "summary" says what failed without quoting expected rows; "full" quotes them.
    hidden_feedback: str = "summary"

    @property
    def max_score(self) -> float:
        return sum(item.points for item in self.items)

    def item(self, check_id: str) -> Item:
        for item in self.items:
            if item.id == check_id:
                return item
        raise KeyError(check_id)


def load_rubric(path: Path = DEFAULT_RUBRIC, known: set[str] | None = None) -> Rubric:
    """Read ``path``; with ``known`` check ids, every id must be one the grader implements."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise RubricError(f"cannot read rubric {path}: {error}") from None
    parts = data.get("parts") or {}
    if not isinstance(parts, dict) or not parts:
        raise RubricError(f"{path}: [parts] is missing or empty: list each part's title, e.g. \"8.1\" = \"the feed\"")
    checks = data.get("check", [])
    if not isinstance(checks, list) or not all(isinstance(raw, dict) for raw in checks):
        raise RubricError(f"{path}: `check` must be a list of [[check]] tables")
    items = []
    for n, raw in enumerate(checks, 1):
        try:
            points = raw["points"]
            item = Item(id=str(raw["id"]), part=str(raw["part"]), points=float(points), title=str(raw["title"]))
        except KeyError as error:
            raise RubricError(f"{path}: check #{n} has no {error.args[0]}") from None
        except (TypeError, ValueError):
            raise RubricError(f"{path}: check #{n} ({raw.get('id')}) has points = {points!r}, not a number") from None
        if item.part not in parts:
            raise RubricError(f"{path}: check {item.id} names part {item.part!r}, which [parts] does not list")
        if item.points < 0:
            raise RubricError(f"{path}: check {item.id} has negative points")
        if known is not None and item.id not in known:
            raise RubricError(f"{path}: check {item.id} is not one the grader knows ({', '.join(sorted(known))})")
        items.append(item)
    ids = [i.id for i in items]
    if len(set(ids)) != len(ids):
        raise RubricError(f"{path}: a check id appears twice")
    feedback = data.get("feedback", {})
    hidden = feedback.get("hidden", "summary") if isinstance(feedback, dict) else None
    if hidden not in FEEDBACK:
        raise RubricError(f"{path}: [feedback] hidden = {hidden!r}: use \"summary\" or \"full\"")
    return Rubric(parts={str(k): str(v) for k, v in parts.items()}, items=tuple(items), hidden_feedback=hidden)
