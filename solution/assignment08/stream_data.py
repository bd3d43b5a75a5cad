"""Assignment 8.1 (reference): replay the DeepDrive slices into ``results/stream/input``.

Each ``t=SSS.S`` step is published once the clock has passed ``t`` seconds since the start:
read with pyarrow, ``timestamp`` set to start + ``offset``, written to ``staging`` as one file per
step and kind (the data's one file per route would be a file each to write, list and open), and
then moved into ``input`` with one rename per step and kind, so a reader never sees a half-written file.
"""

from __future__ import annotations

import argparse
import shutil
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

KINDS = ("accelerations", "locations")
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def steps(data_dir: Path) -> list[tuple[float, str]]:
    """(seconds, folder name) of every t=SSS.S folder of either kind, in time order."""
    names = {p.name for kind in KINDS for p in (data_dir / kind).glob("t=*") if p.is_dir()}
    return sorted((float(name[2:]), name) for name in names)


def restamp(table: pa.Table, start: datetime) -> pa.Table:
    """timestamp = start + offset, in microseconds, UTC (Spark cannot read nanoseconds)."""
    micros = pc.cast(pc.round(pc.multiply(table["offset"], 1_000_000)), pa.int64())
    start_us = (start - EPOCH) // timedelta(microseconds=1)
    stamps = pc.cast(pc.add(micros, start_us), pa.timestamp("us", tz="UTC"))
    return table.set_column(table.schema.get_field_index("timestamp"), "timestamp", stamps)


def publish(data_dir: Path, results_dir: Path, name: str, start: datetime) -> None:
    """Write one step of both kinds to staging, then move each into input."""
    for kind in KINDS:
        source = data_dir / kind / name
        if not source.is_dir():
            continue
        staged = results_dir / "stream" / "staging" / kind / name
        staged.mkdir(parents=True)
        files = sorted(source.glob("*.parquet"))  # one per route: written back as one file per step and kind
        if files:
            table = pa.concat_tables([pq.ParquetFile(f).read(use_threads=False) for f in files], promote_options="permissive")
            pq.write_table(restamp(table.replace_schema_metadata(None), start), staged / "part-0.parquet")
        target = results_dir / "stream" / "input" / kind
        target.mkdir(parents=True, exist_ok=True)
        staged.rename(target / name)


def main(data_dir: str | Path, results_dir: str | Path, speed: float = 1.0) -> None:
    """Replay every step of ``data_dir`` into ``results_dir/stream/input``, ``speed`` times real time."""
    data_dir, results_dir = Path(data_dir), Path(results_dir)
    for folder in ("staging", "input"):
        shutil.rmtree(results_dir / "stream" / folder, ignore_errors=True)
        (results_dir / "stream" / folder).mkdir(parents=True)
    start = datetime.now(timezone.utc)
    began = time.monotonic()
    for seconds, name in steps(data_dir):
        wait = seconds / speed - (time.monotonic() - began)
        if wait > 0:
            time.sleep(wait)
        publish(data_dir, results_dir, name, start)


if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=here.parents[1] / "data" / "processed" / "bdd")
    parser.add_argument("--results-dir", type=Path, default=here / "results")
    parser.add_argument("--speed", type=float, default=1.0, help="replay this many times faster than real time")
    args = parser.parse_args()
    main(args.data_dir, args.results_dir, speed=args.speed)
