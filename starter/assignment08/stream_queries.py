"""Assignment 8.2: three streaming queries over results/stream/input.

Copy this file into dsc650/assignments/assignment08/ and fill in the TODOs. The grader calls
``start_queries(spark, results_dir)`` once the first step is in ``input``, then publishes the
other steps one by one and drives every query with ``processAllAvailable()``.
"""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.streaming import StreamingQuery


def read_accelerations(spark: SparkSession, input_dir: str | Path) -> DataFrame:
    """Streaming DataFrame over ``input_dir/accelerations``.

    A streaming file source needs its schema up front (``spark.readStream.schema(...)``); see the
    README's "For students" for the columns. The t=SSS.S folders add a column ``t`` (double):
    declare it in the schema too, or read with ``option("recursiveFileLookup", "true")``.
    """
    raise NotImplementedError("TODO: 8.2")


def read_locations(spark: SparkSession, input_dir: str | Path) -> DataFrame:
    """Streaming DataFrame over ``input_dir/locations`` (same rules as accelerations)."""
    raise NotImplementedError("TODO: 8.2")


def windowed_speed(locations: DataFrame) -> DataFrame:
    """8.2b: mean ``speed`` per route (``uuid``) in 15-second windows of ``timestamp``,
    with a 30-second watermark. Columns: window_start, window_end, uuid, mean_speed.
    """
    raise NotImplementedError("TODO: 8.2b")


def join_streams(accelerations: DataFrame, locations: DataFrame) -> DataFrame:
    """8.2c: full outer join on uuid of rows at most one second apart:
    ``loc_timestamp BETWEEN acc_timestamp - INTERVAL 1 SECOND AND acc_timestamp + INTERVAL 1 SECOND``,
    both sides watermarked (30 seconds), every column prefixed ``acc_`` or ``loc_``.
    """
    raise NotImplementedError("TODO: 8.2c")


def start_queries(spark: SparkSession, results_dir: str | Path) -> list[StreamingQuery]:
    """Start every 8.2 query and return them:

    - 8.2a: each stream to parquet, append mode: ``results_dir/output/simple/accelerations`` and
      ``.../simple/locations``;
    - 8.2b: ``windowed_speed`` in update mode, written with ``foreachBatch``, appending each
      batch's rows to ``results_dir/output/windowed`` (a file sink accepts only append mode);
    - 8.2c: ``join_streams`` to parquet, append mode: ``results_dir/output/stream-joined``.
    Give each query its own ``checkpointLocation`` under ``results_dir/checkpoints/``.
    """
    raise NotImplementedError("TODO: 8.2")
