"""The one place that decides how a SparkSession for grading is configured.

Every setting here is measured (``benchmarks/run.py``; the figures are in the README's "Speed"
section): the data is tiny, so a micro-batch's cost is overhead, and the settings cut the work
each batch does. None of them changes what a query computes or when it emits; the goldens test
and the catalogue hold that.
"""

from __future__ import annotations

import os
from pathlib import Path

from pyspark.sql import SparkSession

# C1 only and the serial collector: a short-lived JVM on 2 cores spends less on compiling and
# collecting (measured: C2 added 30 s of JVM CPU and 12 s of wall time to a real-data replay).
# A fixed Netty machine id: in a network namespace there is no hardware address, and Netty would
# log a random one on stderr, different on every run.
# A code cache of 256 MiB: C1's default of 48 MiB filled after ~80 s of a replay of the original
# release's size ("CodeCache is full. Compiler has been disabled"), and the steps after ran slower.
JVM_OPTIONS = (
    "-Duser.timezone=UTC -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=256m -Xss4m "
    "-Dio.netty.machineId=02:00:00:00:06:50"
)
# A jar first on the JVM's classpath (grader/replay/hadoop_overrides.py builds it), not a folder: a
# class-data-sharing archive (grader/replay/class_archive.py) refuses non-empty folders on the classpath.
# - An empty stand-in for Hadoop's YARN defaults, and Hadoop's core and MapReduce defaults without what a
#   local session never uses (hadoop-overrides/trimmed-defaults.txt). Spark serializes the whole Hadoop
#   configuration into every file scan, file write and state store of every micro-batch, and copies it
#   for every listing of a file source: 1,125 properties -> 575 without YARN's -> 175 trimmed (53 -> 17
#   KiB serialized). Measured in-process on the original release's size, without the class archive,
#   alternated, three runs each: the replay 30.6-35.2 s (575) -> 26.2-33.0 s (175), 2.2-5.6 s less in
#   every pair.
# - The `file:` file system, with permissions set in-process (`fs.file.impl` below).
HADOOP_OVERRIDES = Path(__file__).resolve().parent / "hadoop-overrides.jar"

SETTINGS: dict[str, str] = {
    "spark.master": "local[2]",
    "spark.driver.memory": "1g",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
    # One shuffle partition on small data: each stateful operator keeps one state store per
    # partition, and a partition costs per micro-batch. `partitions_for` raises it on large data.
    "spark.sql.shuffle.partitions": "1",
    "spark.sql.adaptive.enabled": "false",
    # No batch that only moves the watermark: it was a third of the micro-batches (two of each
    # replay step's six). Where it mattered, before a replay step that holds a row older than an
    # earlier one (the fixtures' late row: without it the row was counted) and after the flush, the
    # replay runs an empty batch in its place (grader/replay/schedule.py says why that keeps every
    # row's fate). Measured in-process on the original release's size (the reference, 6 of its 16
    # replay steps settled): the replay 25.0 -> 22.1-22.4 s, JVM CPU 34.6 -> 31.3-31.9 s (20.4 s
    # and 28.2 s with no empty batch at all); the goldens byte for byte the same at every size.
    "spark.sql.streaming.noDataMicroBatches.enabled": "false",
    "spark.sql.streaming.stateStore.maintenanceInterval": "600s",
    # State in RocksDB, for the join state format 4 that only RocksDB runs (it "optimizes watermark-based
    # eviction", says Spark's documentation of the setting: a join's rows are kept by key and event time).
    # Measured in-process on the original release's size (the reference, 16 replay steps and the flush):
    # the replay 31-34 s -> 26 s, JVM CPU 45-47 s -> 37-38 s, the JVM's peak RSS 763 -> 855 MiB; on the
    # course's copy and the fixtures no change (12 s and 6 s either way). With format 2 RocksDB was slower
    # than the in-memory default (the join alone 39-42 s against 28-30 s, timed with a progress listener).
    # Changelog checkpoints write each batch's changes, not RocksDB's files.
    "spark.sql.streaming.stateStore.providerClass": "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider",
    "spark.sql.streaming.stateStore.rocksdb.changelogCheckpointing.enabled": "true",
    "spark.sql.streaming.join.stateFormatVersion": "4",
    # RocksDB counts the state's rows only for the progress reports' `numRowsTotal`, which the grader
    # does not read, at the price of a lookup before every write and removal. Measured in-process on the
    # original release's size, alternated, two runs each: the join's state updates 23.2-23.6 -> 19.4-19.6 s
    # (both partitions), the replay 30.9-31.4 -> 28.3-28.8 s.
    "spark.sql.streaming.stateStore.rocksdb.trackTotalNumberOfRows": "false",
    # A file source lists every `t=SSS.S` folder on each poll. Past 32 folders Spark lists them
    # with a Spark job of its own (one task per folder, the Hadoop configuration shipped to each):
    # list them in the driver, as it does for fewer.
    "spark.sql.sources.parallelPartitionDiscovery.threshold": "1000000",
    # An idle query re-lists its source every pollingDelay (10 ms by default): four idle queries
    # kept both cores busy while one worked. 50 ms costs at most 50 ms of latency per step.
    "spark.sql.streaming.pollingDelay": "50ms",
    "spark.driver.extraClassPath": str(HADOOP_OVERRIDES),
    # Without Hadoop's native library Hadoop sets every created file's permission by running `chmod` in a
    # child process: 1,420 in a replay of the original release's size (each checkpoint, log, changelog
    # and output file, and its .crc), 425 in one of the fixtures. This one sets the same mode in-process.
    # Measured in-process without the class archive, alternated, two runs each: the original's size
    # 41.2-43.2 -> 37.9-38.1 s, the fixtures 10.6-11.9 -> 9.9-11.0 s.
    "spark.hadoop.fs.file.impl": "dsc650.grader.InProcessChmodLocalFileSystem",
    "spark.driver.extraJavaOptions": JVM_OPTIONS,
    "spark.executor.extraJavaOptions": JVM_OPTIONS,
}


# Checkpoint and metadata logs through Hadoop's FileSystem API, not FileContext: without the native
# Hadoop library FileContext's rename runs `readlink` in a child process for each path (43
# processes per micro-batch, measured); FileSystem's rename is java.io.File.renameTo. The class
# has moved package within Spark 4, so the first name that exists is used.
CHECKPOINT_MANAGERS = (
    "org.apache.spark.sql.execution.streaming.checkpointing.FileSystemBasedCheckpointFileManager",
    "org.apache.spark.sql.execution.streaming.FileSystemBasedCheckpointFileManager",
)


def _use_filesystem_checkpoints(spark: SparkSession) -> None:
    for name in CHECKPOINT_MANAGERS:
        try:
            spark._jvm.java.lang.Class.forName(name)
        except Exception:
            continue
        spark.conf.set("spark.sql.streaming.checkpointFileManagerClass", name)
        return


# Rows from which a replay gets two shuffle partitions, one per core. Measured in-process on the
# original release's size (199k rows): the reference's stream-stream join is single-threaded per
# partition and dominates, 107 s of wall time with one partition, 92 s with two, for the same
# ~140 s of JVM CPU; on the fixtures and the course's copy (24k rows) two were 3-6% slower.
TWO_PARTITIONS_FROM_ROWS = 100_000


def partitions_for(rows: int) -> int:
    """Shuffle partitions for a replay of ``rows`` rows: the same for the goldens and every student."""
    return 2 if rows >= TWO_PARTITIONS_FROM_ROWS else 1


def session(scratch: Path, app: str = "dsc650-grader", java_options: str = "", partitions: int = 1) -> SparkSession:
    """A local SparkSession whose scratch files stay under ``scratch``; ``java_options`` are added
    to the driver JVM's (the class archive's, see ``grader.replay.class_archive``); ``partitions`` is the
    shuffle partition count (``partitions_for``)."""
    scratch = Path(scratch)
    (scratch / "tmp").mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TZ", "UTC")
    builder = SparkSession.builder.appName(app)
    for key, value in SETTINGS.items():
        builder = builder.config(key, value)
    # Native libraries (RocksDB's, lz4's, snappy's) are unpacked into java.io.tmpdir: the session's own scratch,
    # not a shared /tmp they would be left in, and counted in a sandboxed part's disk limit. Forward slashes and
    # quotes: Spark's option parser takes a backslash (a Windows path's) as an escape, and a space as a separator.
    tmpdir = (scratch / "tmp").resolve().as_posix()
    options = f'{SETTINGS["spark.driver.extraJavaOptions"]} -Djava.io.tmpdir="{tmpdir}" {java_options}'.strip()
    builder = builder.config("spark.driver.extraJavaOptions", options)
    builder = builder.config("spark.sql.shuffle.partitions", str(partitions))
    builder = builder.config("spark.local.dir", str(scratch / "tmp")).config(
        "spark.sql.warehouse.dir", str(scratch / "warehouse")
    )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    _use_filesystem_checkpoints(spark)
    return spark
