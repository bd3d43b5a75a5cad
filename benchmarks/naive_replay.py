"""The naive baseline: the reference's queries on a replay driven the simplest way.

One ``processAllAvailable`` per step folder and query (no schedule: every folder is a replay step
of its own), Spark's settings untouched but for what the arguments say. Run as a script (a fresh
JVM each time): ``naive_replay.py DATA STEPS [conf=value...]``.
Prints one JSON line: steps, seconds of streaming, seconds in all.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

BEGAN = time.monotonic()

from pyspark.sql import SparkSession  # noqa: E402

from grader.contract import START  # noqa: E402
from grader.dataset import KINDS  # noqa: E402
from grader.paths import REFERENCE  # noqa: E402
from grader.replay.driver import publish, step_tables  # noqa: E402
from grader.replay.schedule import ReplayStep, read_folders  # noqa: E402


def replay(data_dir: Path, steps: int, results: Path, after: Callable[[int], None]) -> int:
    """Publish the first ``steps`` step folders into ``results/stream/input``, one replay step each,
    calling ``after(index)`` after each; the number of steps published."""
    for kind in KINDS:
        (results / "stream" / "input" / kind).mkdir(parents=True)
    folders, tables = read_folders(data_dir)
    timeline = [ReplayStep((folder,)) for folder in folders[:steps]]
    for index, step in enumerate(timeline):
        publish(step_tables(tables, step, START), step, results)
        after(index)
    return len(timeline)


def main(data_dir: Path, steps: int, conf: dict[str, str]) -> dict:
    builder = SparkSession.builder.master("local[2]").config("spark.sql.session.timeZone", "UTC")
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    sys.path.insert(0, str(REFERENCE))
    import stream_queries

    queries: list = []
    with tempfile.TemporaryDirectory() as scratch:
        results = Path(scratch)

        def drive(index: int) -> None:
            if index == 0:
                queries.extend(stream_queries.start_queries(spark, results))
            for query in queries:
                query.processAllAvailable()

        streaming = time.monotonic()
        published = replay(data_dir, steps, results, drive)
        streaming = time.monotonic() - streaming
        batches = sum(len(q.recentProgress) for q in queries)
        for query in queries:
            query.stop()
    return {"steps": published, "streaming_s": round(streaming, 2), "total_s": round(time.monotonic() - BEGAN, 2),
            "batches": batches}


if __name__ == "__main__":
    settings = dict(arg.split("=", 1) for arg in sys.argv[3:])
    print(json.dumps(main(Path(sys.argv[1]), int(sys.argv[2]), settings)))
