"""The replay's schedule: which step folders are published together, derived from the data alone.

A micro-batch costs the same whatever it holds (about 0.3 s of JVM CPU here, six per replay
step), so the replay's cost follows the number of replay steps, not the rows. Consecutive step
folders are published as one replay step when both hold:

1. every row of the later folder is newer (by ``offset``) than every row of the folders before
   it. No row of it can then be later than any watermark, whatever its delay, whether it
   arrives with its neighbours or after them: no row changes between late and on time, and a
   stream-stream join keeps and matches the same rows. A folder that holds an older row (out of
   order, or late) starts a replay step of its own, so it meets exactly the watermark it meets
   when every folder is published alone;
2. the replay step spans less than ``SPAN`` seconds (two thirds of a window) from its first
   folder to its last, so a window that gains rows throughout is updated in at least two replay
   steps before it closes: update mode stays distinguishable from append mode, and the updates
   are still compared replay step by replay step.

The goldens and every submission get the same schedule, since it depends on the data alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from grader.contract import KINDS, WINDOW_SECONDS
from grader.dataset import Step, list_steps, read_step

SPAN = WINDOW_SECONDS * 2 / 3  # seconds from a replay step's first folder to its last, exclusive


@dataclass(frozen=True)
class ReplayStep:
    """Step folders published together, under the first one's name."""

    steps: tuple[Step, ...]

    @property
    def name(self) -> str:
        return self.steps[0].name

    @property
    def seconds(self) -> float:
        return self.steps[0].seconds

    @property
    def label(self) -> str:
        """``t=012.3``, or ``t=012.3-t=019.9`` for several folders: how feedback names it."""
        return self.name if len(self.steps) == 1 else f"{self.name}-{self.steps[-1].name}"


def plan(steps: list[Step], offsets: Iterable[tuple[float, float] | None]) -> list[ReplayStep]:
    """Replay steps for ``steps`` in time order, each step's (oldest, newest) offset over both
    kinds beside it (None for a step without rows)."""
    groups: list[list[Step]] = []
    newest = float("-inf")
    for step, bounds in zip(steps, offsets, strict=True):
        oldest = bounds[0] if bounds else float("inf")
        joins = groups and oldest > newest and step.seconds - groups[-1][0].seconds < SPAN
        if joins:
            groups[-1].append(step)
        else:
            groups.append([step])
        if bounds:
            newest = max(newest, bounds[1])
    return [ReplayStep(tuple(group)) for group in groups]


Folders = dict[str, dict[str, pa.Table]]  # step folder -> kind -> its rows


def read_folders(data_dir: Path) -> tuple[list[Step], Folders]:
    """Every step folder's rows, read once: the schedule and the replay both need them."""
    steps = list_steps(data_dir)
    return steps, {step.name: {kind: read_step(data_dir, kind, step.name) for kind in KINDS} for step in steps}


def replay_steps(steps: list[Step], folders: Folders) -> list[ReplayStep]:
    """The dataset's schedule, from each step's oldest and newest offset."""
    bounds = []
    for step in steps:
        offsets = pa.chunked_array([folders[step.name][kind]["offset"] for kind in KINDS], pa.float64())
        valid = len(offsets) - offsets.null_count
        bounds.append((pc.min(offsets).as_py(), pc.max(offsets).as_py()) if valid else None)
    return plan(steps, bounds)
