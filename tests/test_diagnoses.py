"""Diagnosis labels: every advice line the checks can write has a stable label, and the labels of
real mistakes are the ones a class report counts. No JVM: the lines are read from the checks'
source, and the group-by-speed hint is built from rows."""

from __future__ import annotations

import ast
import re

import pyarrow as pa
import pytest

from grader.checks import diagnoses
from grader.checks.grouping import several_rows
from grader.outputs import SinkRows
from grader.paths import PACKAGE

CHECK_MODULES = ["simple", "windowed", "joined", "feed", "queries", "grouping"]
# What makes a line advice (a fix or a named mistake) rather than a count or a quote of rows.
ADVICE = re.compile(r"\b(use|Use|[Cc]all |Group by|Remove |remove the|Set timestamp|Take the start|[Ww]rite each|fix the|check the "
                    r"join|Once a step|an inner join|one-sided|that is \w+ mode|appears more than once|stopped early|"
                    r"does it read|none of them writes|had not returned|Spark 4 fails|without a time zone|means nothing)")


def _render(node: ast.AST) -> str | None:
    """A string expression's text, each formatted value as X; None when it is not a string."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(part.value if isinstance(part, ast.Constant) else "X" for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _render(node.left), _render(node.right)
        return left + right if left is not None and right is not None else None
    return None


def advice_lines() -> list[tuple[str, str]]:
    """(module, text) of every top-level string in the check modules that reads as advice."""
    found = []
    for name in CHECK_MODULES:
        tree = ast.parse((PACKAGE / "checks" / f"{name}.py").read_text(encoding="utf-8"))
        inner: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr | ast.BinOp):
                inner |= {id(child) for child in ast.walk(node) if child is not node}
        for node in ast.walk(tree):
            if id(node) in inner or isinstance(node, ast.Expr):
                continue
            text = _render(node)
            if text and ADVICE.search(text) and not text.startswith(("\n", '"""')) and "\n" not in text:
                found.append((name, text))
    return found


def test_the_source_scan_finds_the_advice_lines() -> None:
    texts = [text for _, text in advice_lines()]
    assert len(texts) >= 20, texts
    assert any("an inner join? Use how='full_outer'" in t for t in texts)
    assert any("several rows for one window and route" in t for t in texts)


@pytest.mark.parametrize(("module", "text"), advice_lines())
def test_every_advice_line_has_a_label(module: str, text: str) -> None:
    assert diagnoses.label(text), f"checks/{module}.py writes a line no label in grader/checks/diagnoses.py names: {text!r}"


@pytest.mark.parametrize(("line", "expected"), [
    ("There are no rows without a partner: an inner join? Use how='full_outer'.", "inner join"),
    ("Your windows are 30 s long: use window('timestamp', '15 seconds').", "window length"),
    ("Each window was emitted once, after it closed: that is append mode; use outputMode('update').", "append mode"),
    ("3 windows (e.g. window 00:00:15–00:00:30 of route ab…) count a row that arrived after the watermark had passed "
     "the window. Call withWatermark('timestamp', '30 seconds') before the groupBy so rows later than the watermark are dropped.",
     "late rows counted"),
    ("window 1 of 2 counts a row that arrived after the watermark had passed the window. Complete mode keeps every window "
     "and never drops a late row: use outputMode('update').", "complete mode"),
    ("3 of 14 windows end with the right mean speed (11 wrong, 0 missing, 0 unexpected).", None),
])  # fmt: skip
def test_labels_name_the_mistake_not_the_numbers(line: str, expected: str | None) -> None:
    assert diagnoses.label(line) == expected


def _row(index: int, start: str, mean: float, route: str = "r1") -> dict:
    return {"index": index, "step": f"t={index}", "window_start": f"2026-01-01T00:00:{start}.000000Z",
            "window_end": "2026-01-01T00:00:30.000000Z", "uuid": route, "mean_speed": mean}


def test_rows_grouped_by_speed_are_named_with_the_column() -> None:
    speeds = {("2026-01-01T00:00:15.000000Z", "r1"): [3.0, 4.0, 4.0]}
    rows = SinkRows(table=pa.Table.from_pylist([_row(0, "15", 3.0), _row(0, "15", 4.0), _row(1, "15", 4.0)]))
    [line] = several_rows(rows, lambda: speeds)
    assert "several rows for one window and route" in line and "2 rows" in line
    assert "speed (each row's mean_speed is one speed value" in line
    assert "groupBy(window('timestamp', '15 seconds'), 'uuid')" in line
    assert diagnoses.label(line) == "grouped by an extra column"


def test_one_row_per_window_and_batch_is_no_mistake() -> None:
    called = []
    rows = SinkRows(table=pa.Table.from_pylist([_row(0, "15", 3.5), _row(1, "15", 3.7), _row(1, "15", 2.0, route="r2")]))
    assert several_rows(rows, lambda: called.append(1) or {}) == []
    assert not called, "the dataset is read only when rows repeat"


def test_an_extra_column_that_is_not_speed_is_named_from_the_output() -> None:
    rows = SinkRows(table=pa.Table.from_pylist([_row(0, "15", 3.5), _row(0, "15", 9.0)]), extra=["course"])
    [line] = several_rows(rows, lambda: {("2026-01-01T00:00:15.000000Z", "r1"): [3.0, 4.0]})
    assert "course (a column of your output" in line
