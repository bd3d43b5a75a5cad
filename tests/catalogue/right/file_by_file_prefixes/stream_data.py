"""Assignment 8.1: sleeps in small increments until each step is due and moves the files one
by one (os.makedirs in input, then os.rename of each file)."""

import glob
import os
import shutil
import time
from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

KINDS = ("accelerations", "locations")


def clean(folder):
    if os.path.exists(folder):
        shutil.rmtree(folder)
    os.makedirs(folder)


def main(data_dir, results_dir):
    staging = os.path.join(results_dir, "stream", "staging")
    inputs = os.path.join(results_dir, "stream", "input")
    clean(staging)
    clean(inputs)

    folders = glob.glob(os.path.join(data_dir, "*", "t=*"))
    steps = sorted({os.path.basename(f) for f in folders}, key=lambda s: float(s[2:]))
    start = datetime.now(timezone.utc)
    start_us = int(start.timestamp()) * 1_000_000 + start.microsecond
    began = time.monotonic()
    for step in steps:
        due = float(step[2:])
        while time.monotonic() - began < due:
            time.sleep(0.25)
        for kind in KINDS:
            files = sorted(glob.glob(os.path.join(data_dir, kind, step, "*.parquet")))
            if not files:
                continue
            stage = os.path.join(staging, kind, step)
            os.makedirs(stage, exist_ok=True)
            for path in files:
                table = pq.read_table(path, partitioning=None)
                us = pc.cast(pc.round(pc.multiply(table["offset"], 1e6)), pa.int64())
                stamps = pc.cast(pc.add(us, start_us), pa.timestamp("us", tz="UTC"))
                table = table.set_column(table.schema.get_field_index("timestamp"), "timestamp", stamps)
                pq.write_table(table, os.path.join(stage, os.path.basename(path)))
            target = os.path.join(inputs, kind, step)
            os.makedirs(target, exist_ok=True)
            for name in sorted(os.listdir(stage)):
                os.rename(os.path.join(stage, name), os.path.join(target, name))
            os.rmdir(stage)


if __name__ == "__main__":
    main("data", "results")
