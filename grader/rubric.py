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


@dataclass(frozen=True)
class Rubric:
    parts: dict[str, str]
    items: tuple[Item, ...]

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
    items = []
    for n, raw in enumerate(data.get("check", []), 1):
        try:
            item = Item(id=str(raw["id"]), part=str(raw["part"]), points=float(raw["points"]), title=str(raw["title"]))
        except KeyError as error:
            raise RubricError(f"{path}: check #{n} has no {error.args[0]}") from None
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
    return Rubric(parts=dict(parts), items=tuple(items))
