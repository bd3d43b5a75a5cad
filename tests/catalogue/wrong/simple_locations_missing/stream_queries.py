"""Assignment 8.2 (a copy of the reference with one mutation: see `# MUTATION:`): three streaming queries over ``results/stream/input``.

Follows the student contract in the README ("For students"). Every choice the brief leaves
open is made here the way the README documents it.
"""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.streaming import StreamingQuery

WATERMARK = "30 seconds"
WINDOW = "15 seconds"
JOIN_BOUND = "INTERVAL 1 SECOND"

_COMMON = [
    T.StructField("id", T.StringType()),
    T.StructField("ride_id", T.StringType()),
    T.StructField("uuid", T.StringType()),
    T.StructField("timestamp", T.TimestampType()),
    T.StructField("offset", T.DoubleType()),
]
_TAIL = [T.StructField("timelapse", T.BooleanType()), T.StructField("filename", T.StringType())]
# `t` is the partition column Spark derives from the t=SSS.S folders. Declaring it keeps the
# schema the same whether or not the folder already holds data when the query starts.
_PARTITION = [T.StructField("t", T.DoubleType())]

ACCELERATIONS_SCHEMA = T.StructType(
    _COMMON + [T.StructField(c, T.DoubleType()) for c in ("x", "y", "z")] + _TAIL + _PARTITION
)
LOCATIONS_SCHEMA = T.StructType(
    _COMMON
    + [T.StructField(c, T.DoubleType()) for c in ("course", "latitude", "longitude")]
    + [T.StructField("geohash", T.StringType())]
    + [T.StructField(c, T.DoubleType()) for c in ("speed", "accuracy")]
    + _TAIL
    + _PARTITION
)


def read_accelerations(spark: SparkSession, input_dir: str | Path) -> DataFrame:
    """Streaming DataFrame over ``input_dir/accelerations``."""
    return spark.readStream.schema(ACCELERATIONS_SCHEMA).parquet(str(Path(input_dir) / "accelerations"))


def read_locations(spark: SparkSession, input_dir: str | Path) -> DataFrame:
    """Streaming DataFrame over ``input_dir/locations``."""
    return spark.readStream.schema(LOCATIONS_SCHEMA).parquet(str(Path(input_dir) / "locations"))


def windowed_speed(locations: DataFrame) -> DataFrame:
    """8.2b: mean speed per route (uuid) in 15-second windows, 30-second watermark."""
    return (
        locations.withWatermark("timestamp", WATERMARK)
        .groupBy(F.window("timestamp", WINDOW), "uuid")
        .agg(F.avg("speed").alias("mean_speed"))
        .select(
            F.col("window.start").alias("window_start"),
            F.col("window.end").alias("window_end"),
            "uuid",
            "mean_speed",
        )
    )


def join_streams(accelerations: DataFrame, locations: DataFrame) -> DataFrame:
    """8.2c: full outer join on uuid, rows at most one second apart, each side's columns prefixed."""
    acc = accelerations.withWatermark("timestamp", WATERMARK)
    loc = locations.withWatermark("timestamp", WATERMARK)
    acc = acc.select([F.col(c).alias(f"acc_{c}") for c in acc.columns])
    loc = loc.select([F.col(c).alias(f"loc_{c}") for c in loc.columns])
    condition = F.expr(
        f"acc_uuid = loc_uuid AND loc_timestamp BETWEEN acc_timestamp - {JOIN_BOUND} "
        f"AND acc_timestamp + {JOIN_BOUND}"
    )
    return acc.join(loc, condition, "full_outer")


def start_queries(spark: SparkSession, results_dir: str | Path) -> list[StreamingQuery]:
    """Start every 8.2 query with its sink; return the started queries."""
    results = Path(results_dir)
    input_dir = results / "stream" / "input"
    output = results / "output"
    checkpoints = results / "checkpoints"
    accelerations = read_accelerations(spark, input_dir)
    locations = read_locations(spark, input_dir)

    def file_sink(df: DataFrame, name: str, path: Path) -> StreamingQuery:
        return (
            df.writeStream.format("parquet")
            .outputMode("append")
            .option("path", str(path))
            .option("checkpointLocation", str(checkpoints / name))
            .start()
        )

    def append_batch(batch: DataFrame, batch_id: int) -> None:
        # A file sink is append-only: each micro-batch's updated windows are appended, tagged.
        batch.withColumn("batch_id", F.lit(batch_id)).write.mode("append").parquet(str(output / "windowed"))

    windowed = (
        windowed_speed(locations)
        .writeStream.outputMode("update")
        .foreachBatch(append_batch)
        .option("checkpointLocation", str(checkpoints / "windowed"))
        .start()
    )
    return [
        file_sink(accelerations, "simple-accelerations", output / "simple" / "accelerations"),
        # MUTATION: the simple sink of the locations is never started
        windowed,
        file_sink(join_streams(accelerations, locations), "stream-joined", output / "stream-joined"),
    ]


if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    session = SparkSession.builder.appName("assignment08").config("spark.sql.shuffle.partitions", 1).getOrCreate()
    for query in start_queries(session, here / "results"):
        query.awaitTermination()
