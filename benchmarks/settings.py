"""What each of the grader's speed settings is worth: the grader's own replay of the reference,
with one setting of ``grader/replay/spark.py`` put back to Spark's default.

Run as a script (a fresh JVM each time): ``settings.py DATA [without]``, where ``without`` is a
key of ``VARIANTS``. Prints one JSON line: seconds of replay (JVM start excluded), micro-batches,
CPU seconds of the JVM.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import psutil

from grader.contract import START
from grader.paths import REFERENCE
from grader.replay import driver as replay
from grader.replay import spark

# name -> the settings dropped from spark.SETTINGS to undo it (checkpoints and the JIT: see main)
VARIANTS: dict[str, tuple[str, ...]] = {
    "all": (),
    "listing-threshold": ("spark.sql.sources.parallelPartitionDiscovery.threshold",),
    "polling-delay": ("spark.sql.streaming.pollingDelay",),
    "filecontext-checkpoints": (),
    "yarn-defaults": ("spark.driver.extraClassPath", "spark.hadoop.fs.file.impl"),  # the jar holds all three
    "hadoop-defaults": (),  # Hadoop's core and MapReduce defaults whole: the jar without its trimmed copies
    "in-process-chmod": ("spark.hadoop.fs.file.impl",),
    "rocksdb-row-count": ("spark.sql.streaming.stateStore.rocksdb.trackTotalNumberOfRows",),
    "c1-only-jit": (),
}


def main(data_dir: Path, without: str) -> dict:
    for key in VARIANTS[without]:
        spark.SETTINGS.pop(key)
    if without == "filecontext-checkpoints":
        spark.CHECKPOINT_MANAGERS = ()
    if without == "c1-only-jit":  # the JVM's default tiered JIT, C2 included
        for key in ("spark.driver.extraJavaOptions", "spark.executor.extraJavaOptions"):
            spark.SETTINGS[key] = spark.SETTINGS[key].replace("-XX:TieredStopAtLevel=1", "").strip()
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        if without == "hadoop-defaults":
            spark.SETTINGS["spark.driver.extraClassPath"] = str(_untrimmed(work / "untrimmed.jar"))
        session = spark.session(work / "spark")
        batches: list[int] = []

        def log(record: dict) -> None:
            if record.get("event") == "step":
                batches[:] = [q.get("batches") or 0 for q in record["queries"]]

        began = time.monotonic()
        replay.run_queries(session, REFERENCE, data_dir, work / "results", work / "observed", START, log)
        seconds = time.monotonic() - began
        jvm = [p for p in psutil.Process().children(recursive=True) if p.name() == "java"]
        cpu = sum(p.cpu_times().user + p.cpu_times().system for p in jvm)
    return {"without": without, "replay_s": round(seconds, 1), "batches": sum(batches), "jvm_cpu_s": round(cpu, 1)}


def _untrimmed(target: Path) -> Path:
    """The overrides jar without the trimmed default files, so Hadoop loads its own."""
    from grader.replay.hadoop_overrides import trimmed_prefixes

    trimmed = trimmed_prefixes()
    with zipfile.ZipFile(spark.HADOOP_OVERRIDES) as source, zipfile.ZipFile(target, "w") as copy:
        for entry in source.infolist():
            if entry.filename not in trimmed:
                copy.writestr(entry, source.read(entry))
    return target


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "all")))
