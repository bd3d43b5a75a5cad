"""Assignment 8.1: start taken with datetime.utcnow() (made UTC-aware), pyarrow tables,
Path.rename of each step folder, one sleep per step."""

import shutil
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


def publish(src: Path, staging: Path, target: Path, start: datetime) -> None:
    staging.mkdir(parents=True)
    for file in sorted(src.glob("*.parquet")):
        df = pq.read_table(file, partitioning=None).to_pandas()
        df["timestamp"] = [start + timedelta(microseconds=round(o * 1e6)) for o in df["offset"]]
        table = pa.Table.from_pandas(df, preserve_index=False)
        pq.write_table(table.cast(table.schema.set(table.schema.get_field_index("timestamp"),
                                                   pa.field("timestamp", pa.timestamp("us", tz="UTC")))),
                       staging / file.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(target)


def main(data_dir, results_dir):
    data_dir, stream = Path(data_dir), Path(results_dir) / "stream"
    for sub in ("staging", "input"):
        shutil.rmtree(stream / sub, ignore_errors=True)
        (stream / sub).mkdir(parents=True)
    steps = sorted({p.name for p in data_dir.glob("*/t=*")}, key=lambda n: float(n[2:]))
    start = datetime.utcnow().replace(tzinfo=timezone.utc)
    for name in steps:
        elapsed = (datetime.utcnow().replace(tzinfo=timezone.utc) - start).total_seconds()
        time.sleep(max(0.0, float(name[2:]) - elapsed))
        for kind in ("accelerations", "locations"):
            if (data_dir / kind / name).is_dir():
                publish(data_dir / kind / name, stream / "staging" / kind / name, stream / "input" / kind / name, start)


if __name__ == "__main__":
    main("data/processed/bdd", "results")
