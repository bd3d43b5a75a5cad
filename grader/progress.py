"""Progress while a batch runs (a bar on a terminal, plain lines in CI) and the closing table."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as Bar
from rich.table import Table

from grader.reports import short_reason
from grader.rubric import Rubric
from grader.verdict import Grade


def _points(value: float) -> str:
    return f"{value:g}"


class Progress:
    def __init__(self, total: int) -> None:
        self.total = total
        self.count = 0
        self.console = Console(stderr=True)
        self.live = sys.stderr.isatty() and not os.environ.get("CI")
        self.bar = Bar(TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=self.console) if self.live else None
        self.task = self.bar.add_task("grading", total=total) if self.bar else None

    def __enter__(self) -> Progress:
        if self.bar:
            self.bar.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        if self.bar:
            self.bar.stop()

    def done(self, grade: Grade) -> None:
        self.count += 1
        if self.bar and self.task is not None:
            self.bar.advance(self.task)
            self.bar.console.print(f"{grade.student}: {_points(grade.score)}/{_points(grade.max_score)} {grade.status}")
        else:
            print(f"[{self.count}/{self.total}] {grade.student}: {_points(grade.score)}/{_points(grade.max_score)} {grade.status}", file=sys.stderr, flush=True)

    def summary(self, grades: list[Grade], rubric: Rubric, out_dir: Path) -> None:
        table = Table(title=f"Assignment 8: {len(grades)} submission(s)")
        for column in ["student", "score", *rubric.parts, "status", "reason"]:
            table.add_column(column, overflow="fold")
        for grade in sorted(grades, key=lambda g: (g.student, g.source)):
            parts = grade.part_scores(rubric)
            table.add_row(grade.student, f"{_points(grade.score)}/{_points(grade.max_score)}",
                          *(f"{_points(a)}/{_points(b)}" for a, b in parts.values()), grade.status, short_reason(grade)[:80])
        Console(width=max(Console().width, 140)).print(table)
        print(f"reports: {out_dir}/gradebook.csv, {out_dir}/junit.xml, {out_dir}/<student>/results.json and feedback.md; "
              f"the class: {out_dir}/class-report.html, {out_dir}/similarity.csv")
