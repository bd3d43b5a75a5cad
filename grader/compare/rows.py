"""Multiset comparison of rows, with chispa's row comparer and a float tolerance.

Row order never matters. Rows are grouped by a key; inside a key, rows with exactly equal values
pair up first (a dictionary lookup: most rows of a right answer), then the rest pair up when
chispa's ``are_rows_approx_equal`` says so; what is left is missing, unexpected or, when both
sides have a leftover under one key, a differing pair (the most useful thing to show a student).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from grader.tables import Row

if TYPE_CHECKING:
    from pyspark.sql import Row as SparkRow

PRECISION = 1e-6


@dataclass
class RowDiff:
    expected: int
    got: int
    matched: int = 0
    missing: list[Row] = field(default_factory=list)
    unexpected: list[Row] = field(default_factory=list)
    differing: list[tuple[Row, Row]] = field(default_factory=list)
    # How many there are, where the lists above hold only the first few (grader.compare.tables).
    missing_count: int | None = None
    unexpected_count: int | None = None
    differing_count: int | None = None

    @property
    def n_missing(self) -> int:
        return len(self.missing) if self.missing_count is None else self.missing_count

    @property
    def n_unexpected(self) -> int:
        return len(self.unexpected) if self.unexpected_count is None else self.unexpected_count

    @property
    def n_differing(self) -> int:
        return len(self.differing) if self.differing_count is None else self.differing_count

    @property
    def equal(self) -> bool:
        return not (self.n_missing or self.n_unexpected or self.n_differing)


# pyspark and chispa load at the first inexact comparison, not with the checks: importing them took
# 0.3 s before a grading's children could start.
def _spark_row(row: Row, columns: list[str]) -> SparkRow:
    from pyspark.sql import Row as SparkRow

    return SparkRow(**{c: row.get(c) for c in columns})


def _approx_equal(mine: SparkRow, other: SparkRow, precision: float) -> bool:
    from chispa.row_comparer import are_rows_approx_equal

    return are_rows_approx_equal(mine, other, precision, allow_nan_equality=True)


def _exact(value: object) -> object:
    """``value`` as something hashable; equal values give equal results."""
    if isinstance(value, dict):
        return tuple(sorted((k, _exact(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_exact(v) for v in value)
    return value


def _exact_values(row: Row, columns: list[str]) -> tuple:
    return tuple(_exact(row.get(c)) for c in columns)


def _sort_key(key: tuple) -> tuple:
    return tuple((v is None, str(v)) for v in key)


def compare_rows(expected: list[Row], got: list[Row], key: list[str], columns: list[str], precision: float = PRECISION) -> RowDiff:
    """Compare on ``columns``; pair rows sharing the values of ``key``."""
    diff = RowDiff(expected=len(expected), got=len(got))
    groups: dict[tuple, tuple[list[Row], list[Row]]] = defaultdict(lambda: ([], []))
    for row in expected:
        groups[tuple(row.get(k) for k in key)][0].append(row)
    for row in got:
        groups[tuple(row.get(k) for k in key)][1].append(row)
    for group_key in sorted(groups, key=_sort_key):
        wanted, have = groups[group_key]
        # Exactly equal values are approximately equal too, so pairing them first loses nothing.
        slots: dict[object, list[int]] = defaultdict(list)
        for i, row in enumerate(have):
            slots[_exact_values(row, columns)].append(i)
        taken: set[int] = set()
        rest = []
        for row in wanted:
            free = slots.get(_exact_values(row, columns))
            if free:
                taken.add(free.pop(0))
                diff.matched += 1
            else:
                rest.append(row)
        left = [row for i, row in enumerate(have) if i not in taken]
        unmatched = []
        for row in rest:
            mine = _spark_row(row, columns)
            for i, candidate in enumerate(left):
                if _approx_equal(mine, _spark_row(candidate, columns), precision):
                    del left[i]
                    diff.matched += 1
                    break
            else:
                unmatched.append(row)
        pairs = min(len(unmatched), len(left))
        diff.differing += list(zip(unmatched[:pairs], left[:pairs]))
        diff.missing += unmatched[pairs:]
        diff.unexpected += left[pairs:]
    return diff
