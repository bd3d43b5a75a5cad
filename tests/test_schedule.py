"""The replay's schedule (grader.replay.schedule), without Spark: which step folders are published together.

Its promise is that no row changes between late and on time and every window is still updated more
than once before it closes; these tests hold the rule to that on hand-made bounds and on every
generated size, the original release's included.
"""

from __future__ import annotations

import pytest

from grader.contract import WINDOW_SECONDS
from grader.dataset import Step, step_name
from grader.replay.schedule import SPAN, plan, read_folders, replay_steps


def steps(*seconds: float) -> list[Step]:
    return [Step(step_name(s), s) for s in seconds]


def test_folders_newer_than_all_before_are_published_together_within_the_span() -> None:
    times = steps(0.0, 1.2, 2.5, 3.7, 9.0, 11.0)
    bounds = [(t.seconds, t.seconds + 0.5) for t in times]
    planned = plan(times, bounds)
    assert [len(p.steps) for p in planned] == [5, 1]  # 11.0 is SPAN (10 s) after 0.0: a replay step of its own
    assert planned[0].label == "t=000.0-t=009.0" and planned[1].label == "t=011.0"
    assert SPAN < WINDOW_SECONDS


def test_a_folder_with_an_older_row_starts_a_replay_step_of_its_own() -> None:
    times = steps(0.0, 1.2, 2.5, 3.7)
    # t=2.5 holds a row from 0.9 s: older than the newest row before it (1.7 s), so it must meet
    # exactly the watermark it meets when every folder is published alone.
    bounds = [(0.0, 0.5), (1.2, 1.7), (0.9, 3.0), (3.7, 4.2)]
    assert [p.label for p in plan(times, bounds)] == ["t=000.0-t=001.2", "t=002.5-t=003.7"]


def test_an_empty_folder_joins_and_rows_equal_to_the_newest_do_not() -> None:
    times = steps(0.0, 1.0, 2.0)
    assert [len(p.steps) for p in plan(times, [(0.0, 0.5), None, (0.5, 2.5)])] == [2, 1]


@pytest.mark.parametrize(("size", "seed"), [("small", 0), ("real", 0), ("original", 0)])
def test_every_generated_size_keeps_its_out_of_order_rows_at_a_replay_steps_start(size: str, seed: int, generated) -> None:
    data = generated(size, seed)
    folders, tables = read_folders(data)
    planned = replay_steps(folders, tables)
    newest = float("-inf")
    for replay_step in planned:
        assert replay_step.steps[-1].seconds - replay_step.seconds < SPAN
        for position, step in enumerate(replay_step.steps):
            offsets = [o for kind in tables[step.name].values() for o in kind["offset"].to_pylist()]
            if position:  # joined a replay step: every row newer than everything before it
                assert min(offsets) > newest, (replay_step.label, step.name)
            newest = max(newest, *offsets)
    assert [s for p in planned for s in p.steps] == folders, "every folder once, in order"
    if size == "original":
        assert len(planned) <= 25, "106 folders in at most 25 replay steps"
