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

The session runs without Spark's no-data batches (``grader.replay.spark``: they were a third of
the micro-batches). A no-data batch did two things: it wrote what the watermark released (closed
windows in append mode, outer-join rows without a partner), which the next data batch now writes
instead, a step later; and it made the watermark Spark drops late rows by catch up with the one it
evicts by. Only a row older than an earlier row of its kind can tell the second apart: a row newer
than every earlier row of its kind is newer than every watermark of a query that reads that kind
(a query's watermark is at most the newest row of each kind it reads, less the delay). So before a
replay step that holds such a row, and after the flush, the replay runs that batch itself, with
an empty file of each kind concerned (``ReplayStep.older``, ``grader.replay.driver.settle``).

A query that reads both kinds (the join) lists its two sources one after the other, and the
replay cannot stop it listing: a listing that straddles a replay step's two renames sees one kind
only, and the step reaches the join in two batches (measured: 2 of 4 replays of the original's
size). Whatever the order, the batch of the kind seen second drops late rows by a watermark that
already holds the first kind's new rows, ``min(first kind's new, second kind's old)`` against
``min(first's old, second's old)`` when both come together. It drops no other row only if each
row of the second kind is newer than every earlier row of its kind (then it is on time under
both), or the first kind's old watermark was not behind the second's (then both minimums are
the second's, for equal delays). So where a replay step holds an older row of the kind whose
newest row so far is newer than the other's, that kind is published alone first
(``ReplayStep.first``), its batch run, then the rest: the order no listing can change.
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


Bounds = dict[str, tuple[float, float]]  # kind -> its (oldest, newest) offset in a folder; no rows, no entry


@dataclass(frozen=True)
class ReplayStep:
    """Step folders published together, under the first one's name."""

    steps: tuple[Step, ...]
    older: tuple[str, ...] = ()  # the kinds holding a row older than an earlier row of that kind
    first: tuple[str, ...] = ()  # of those, the one ahead of the other kind: published alone, first

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


def plan(steps: list[Step], offsets: Iterable[Bounds]) -> list[ReplayStep]:
    """Replay steps for ``steps`` in time order, each step's bounds per kind beside it."""
    groups: list[list[Step]] = []
    older: list[tuple[str, ...]] = []
    first: list[tuple[str, ...]] = []
    newest: dict[str, float] = {}
    for step, bounds in zip(steps, offsets, strict=True):
        oldest = min((low for low, _ in bounds.values()), default=float("inf"))
        joins = groups and oldest > max(newest.values(), default=float("-inf"))
        if joins and step.seconds - groups[-1][0].seconds < SPAN:
            groups[-1].append(step)
        else:
            groups.append([step])
            kinds = tuple(kind for kind in sorted(bounds) if bounds[kind][0] <= newest.get(kind, float("-inf")))
            older.append(kinds)
            first.append(tuple(kind for kind in kinds if all(
                newest[kind] > newest.get(other, float("-inf")) for other in KINDS if other != kind)))
        for kind, (_, high) in bounds.items():
            newest[kind] = max(newest.get(kind, float("-inf")), high)
    return [ReplayStep(tuple(group), kinds, ahead) for group, kinds, ahead in zip(groups, older, first, strict=True)]


Folders = dict[str, dict[str, pa.Table]]  # step folder -> kind -> its rows


def read_folders(data_dir: Path) -> tuple[list[Step], Folders]:
    """Every step folder's rows, read once: the schedule and the replay both need them."""
    steps = list_steps(data_dir)
    return steps, {step.name: {kind: read_step(data_dir, kind, step.name) for kind in KINDS} for step in steps}


def replay_steps(steps: list[Step], folders: Folders) -> list[ReplayStep]:
    """The dataset's schedule, from each step's oldest and newest offset of each kind."""
    bounds = []
    for step in steps:
        kinds: Bounds = {}
        for kind in KINDS:
            offsets = folders[step.name][kind]["offset"]
            if len(offsets) - offsets.null_count:
                kinds[kind] = (pc.min(offsets).as_py(), pc.max(offsets).as_py())
        bounds.append(kinds)
    return plan(steps, bounds)
