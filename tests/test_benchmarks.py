"""The benchmarks still run against today's replay (``make benchmark`` is run by hand, so nothing
else would notice): the naive baseline's publishing, without Spark.

Its figures are only worth comparing if it publishes what the grader's replay publishes, one step
folder at a time: every folder in time order, every row once.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pyarrow.parquet as pq

from grader.dataset import KINDS, list_steps, read_step
from grader.paths import BUNDLED_DATA

_SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "naive_replay.py"
_SPEC = importlib.util.spec_from_file_location("naive_replay", _SCRIPT)
assert _SPEC and _SPEC.loader
naive_replay = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(naive_replay)  # by its path: benchmarks/ is not on sys.path (its settings.py would shadow)


def test_the_naive_baseline_publishes_each_step_folder_alone_with_all_its_rows(tmp_path: Path) -> None:
    steps = list_steps(BUNDLED_DATA)[:4]
    seen: list[list[str]] = []

    def after(index: int) -> None:
        seen.append(sorted(p.name for p in (tmp_path / "stream" / "input" / "accelerations").iterdir()))

    assert naive_replay.replay(BUNDLED_DATA, len(steps), tmp_path, after) == len(steps)
    assert seen == [[s.name for s in steps[: n + 1]] for n in range(len(steps))], "one folder per step, in time order"
    for kind in KINDS:
        for step in steps:
            published = pq.read_table(tmp_path / "stream" / "input" / kind / step.name)
            assert published.num_rows == read_step(BUNDLED_DATA, kind, step.name).num_rows, (kind, step.name)
