"""Assignment 8.1: replay the DeepDrive slices as a live feed into results/stream/input.

Copy this file into dsc650/assignments/assignment08/ and fill in the TODOs.
The grader calls ``main(data_dir, results_dir)`` on its own small dataset, on a fake clock:
your waits cost no real time, so wait with time.sleep (or read time.time/monotonic, or
datetime.now) exactly as you would in a real run.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main(data_dir: str | Path, results_dir: str | Path) -> None:
    """Replay every ``t=SSS.S`` step of ``data_dir`` into ``results_dir/stream/input``.

    1. Remove ``results_dir/stream/staging`` and ``results_dir/stream/input`` (left by an earlier
       run) and create them again.
    2. Take the start instant once (UTC), before the loop.
    3. For each step folder name ``t=SSS.S`` (of accelerations and locations), in time order:
       a. wait until the clock has passed start + SSS.S seconds;
       b. read that step of each kind (every parquet file in ``data_dir/<kind>/t=SSS.S``);
       c. set ``timestamp`` = start + ``offset`` (seconds), as a UTC timestamp in microseconds
          (pandas: ``to_parquet(..., coerce_timestamps="us", allow_truncated_timestamps=True)``;
          Spark 4 cannot read nanosecond timestamps);
       d. write it to ``results_dir/stream/staging/<kind>/t=SSS.S/`` (keep every column);
       e. move that folder into ``results_dir/stream/input/<kind>/`` with os.rename or
          shutil.move: a move is atomic, so Spark never reads a half-written file.
    """
    raise NotImplementedError("TODO: 8.1")


if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=here.parents[1] / "data" / "processed" / "bdd")
    parser.add_argument("--results-dir", type=Path, default=here / "results")
    args = parser.parse_args()
    main(args.data_dir, args.results_dir)
