"""Assignment 8.1: busy-waits on time.perf_counter(), start from datetime.now(timezone.utc),
timestamps built row by row in Python, one os.rename per step and kind."""

import os
import shutil
import time
from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pyarrow.parquet as pq


def main(data_dir, results_dir):
    staging = os.path.join(results_dir, "stream", "staging")
    input_dir = os.path.join(results_dir, "stream", "input")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(input_dir, ignore_errors=True)
    os.makedirs(staging)
    os.makedirs(input_dir)

    steps = set()
    for kind in ("accelerations", "locations"):
        steps.update(name for name in os.listdir(os.path.join(data_dir, kind)) if name.startswith("t="))

    start = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    for step in sorted(steps, key=lambda s: float(s.split("=")[1])):
        while time.perf_counter() - t0 < float(step.split("=")[1]):
            pass  # busy wait until the step is due
        for kind in ("accelerations", "locations"):
            src = os.path.join(data_dir, kind, step)
            if not os.path.isdir(src):
                continue
            dst = os.path.join(staging, kind, step)
            os.makedirs(dst)
            for name in sorted(os.listdir(src)):
                table = pq.read_table(os.path.join(src, name), partitioning=None)
                stamps = [start + timedelta(seconds=o) for o in table.column("offset").to_pylist()]
                index = table.schema.get_field_index("timestamp")
                table = table.set_column(index, "timestamp", pa.array(stamps, pa.timestamp("us", tz="UTC")))
                pq.write_table(table, os.path.join(dst, name))
            os.makedirs(os.path.join(input_dir, kind), exist_ok=True)
            os.rename(dst, os.path.join(input_dir, kind, step))


if __name__ == "__main__":
    main("data/processed/bdd", "results")
