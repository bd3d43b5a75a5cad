"""Assignment 8.1, pandas style: pd.Timestamp.now for the start, to_parquet in microseconds,
whole step folders moved with shutil.move."""

import shutil
import time
from pathlib import Path

import pandas as pd

KINDS = ["accelerations", "locations"]


def main(data_dir, results_dir):
    data_dir = Path(data_dir)
    stream = Path(results_dir) / "stream"
    staging = stream / "staging"
    input_dir = stream / "input"
    for folder in (staging, input_dir):
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)

    names = set()
    for kind in KINDS:
        names.update(p.name for p in (data_dir / kind).iterdir() if p.name.startswith("t="))
    names = sorted(names, key=lambda n: float(n[2:]))

    start = pd.Timestamp.now(tz="UTC")
    began = time.time()
    for name in names:
        delay = float(name[2:]) - (time.time() - began)
        if delay > 0:
            time.sleep(delay)
        for kind in KINDS:
            source = data_dir / kind / name
            if not source.exists():
                continue
            staged = staging / kind / name
            staged.mkdir(parents=True, exist_ok=True)
            for file in source.glob("*.parquet"):
                df = pd.read_parquet(file)
                df["timestamp"] = start + pd.to_timedelta(df["offset"], unit="s")
                df.to_parquet(staged / file.name, index=False, coerce_timestamps="us", allow_truncated_timestamps=True)
            (input_dir / kind).mkdir(parents=True, exist_ok=True)
            shutil.move(str(staged), str(input_dir / kind / name))


if __name__ == "__main__":
    main("../../data/processed/bdd", "results")
