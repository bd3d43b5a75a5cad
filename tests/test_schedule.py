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


def both(oldest: float, newest: float) -> dict[str, tuple[float, float]]:
    return {"accelerations": (oldest, newest), "locations": (oldest, newest)}


def test_folders_newer_than_all_before_are_published_together_within_the_span() -> None:
    times = steps(0.0, 1.2, 2.5, 3.7, 9.0, 11.0)
    bounds = [both(t.seconds, t.seconds + 0.5) for t in times]
    planned = plan(times, bounds)
    assert [len(p.steps) for p in planned] == [5, 1]  # 11.0 is SPAN (10 s) after 0.0: a replay step of its own
    assert planned[0].label == "t=000.0-t=009.0" and planned[1].label == "t=011.0"
    assert SPAN < WINDOW_SECONDS


def test_a_folder_with_an_older_row_starts_a_replay_step_of_its_own() -> None:
    times = steps(0.0, 1.2, 2.5, 3.7)
    # t=2.5 holds a row from 0.9 s: older than the newest row before it (1.7 s), so it must meet
    # exactly the watermark it meets when every folder is published alone.
    bounds = [both(0.0, 0.5), both(1.2, 1.7), both(0.9, 3.0), both(3.7, 4.2)]
    planned = plan(times, bounds)
    assert [p.label for p in planned] == ["t=000.0-t=001.2", "t=002.5-t=003.7"]
    assert [p.older for p in planned] == [(), ("accelerations", "locations")]


def test_the_batch_before_a_replay_step_settles_only_the_kinds_that_hold_an_older_row() -> None:
    times = steps(0.0, 1.0, 2.0, 3.0)
    # t=1.0's location from 0.2 s is older than the locations before it (0.5 s); its accelerations are
    # not. t=2.0 starts a replay step for a reason of the other kind: its acceleration from 1.5 s is
    # older than the newest row of any kind (the location at 1.9 s), not than the accelerations (1.4 s).
    bounds = [both(0.0, 0.5), {"accelerations": (1.0, 1.4), "locations": (0.2, 1.9)},
              {"accelerations": (1.5, 2.4)}, both(3.0, 3.5)]
    planned = plan(times, bounds)
    assert [p.label for p in planned] == ["t=000.0", "t=001.0", "t=002.0-t=003.0"]
    assert [p.older for p in planned] == [(), ("locations",), ()]


def test_an_older_row_of_the_kind_ahead_is_published_alone_first() -> None:
    # Its batch would otherwise risk a watermark that already holds the other kind's new rows.
    times = steps(0.0, 1.0, 2.0, 3.0)
    bounds = [
        {"accelerations": (0.0, 0.9), "locations": (0.0, 0.5)},  # accelerations ahead (0.9 s against 0.5 s)
        {"accelerations": (0.3, 1.9), "locations": (1.0, 1.5)},  # an older acceleration: the kind ahead, alone first
        {"accelerations": (2.0, 2.4), "locations": (1.2, 2.9)},  # an older location, behind (1.5 s against 1.9 s): together
        {"accelerations": (1.0, 3.4), "locations": (2.0, 3.5)},  # both older: locations are ahead (2.9 s against 2.4 s)
    ]
    planned = plan(times, bounds)
    assert [p.older for p in planned] == [(), ("accelerations",), ("locations",), ("accelerations", "locations")]
    assert [p.first for p in planned] == [(), ("accelerations",), (), ("locations",)]
    # A kind that has had no row yet has no watermark to be behind: the other kind is ahead of it.
    assert plan(steps(0.0, 1.0), [{"locations": (0.0, 0.5)}, both(0.2, 1.5)])[1].first == ("locations",)


def test_an_empty_folder_joins_and_rows_equal_to_the_newest_do_not() -> None:
    times = steps(0.0, 1.0, 2.0)
    assert [len(p.steps) for p in plan(times, [both(0.0, 0.5), {}, both(0.5, 2.5)])] == [2, 1]


@pytest.mark.parametrize(("size", "seed"), [("small", 0), ("real", 0), ("original", 0)])
def test_every_generated_size_keeps_its_out_of_order_rows_at_a_replay_steps_start(size: str, seed: int, generated) -> None:
    data = generated(size, seed)
    folders, tables = read_folders(data)
    planned = replay_steps(folders, tables)
    newest = float("-inf")
    newest_of: dict[str, float] = {}
    for replay_step in planned:
        assert replay_step.steps[-1].seconds - replay_step.seconds < SPAN
        for position, step in enumerate(replay_step.steps):
            offsets = [o for kind in tables[step.name].values() for o in kind["offset"].to_pylist()]
            if position:  # joined a replay step: every row newer than everything before it
                assert min(offsets) > newest, (replay_step.label, step.name)
            else:  # a replay step's start: settled before it exactly where a kind holds an older row
                older = tuple(kind for kind, rows in sorted(tables[step.name].items())
                              if rows.num_rows and min(rows["offset"].to_pylist()) <= newest_of.get(kind, float("-inf")))
                assert replay_step.older == older, replay_step.label
            newest = max(newest, *offsets)
            for kind, rows in tables[step.name].items():
                if rows.num_rows:
                    newest_of[kind] = max(newest_of.get(kind, float("-inf")), *rows["offset"].to_pylist())
    assert [s for p in planned for s in p.steps] == folders, "every folder once, in order"
    if size == "original":
        assert len(planned) <= 25, "106 folders in at most 25 replay steps"
