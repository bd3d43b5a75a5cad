"""Assignment 8.2 in SQL: temporary views over the streams, spark.sql for the window and the
join, selectExpr for the prefixes."""

from pathlib import Path

ACCELERATIONS = ("id STRING, ride_id STRING, uuid STRING, timestamp TIMESTAMP, offset DOUBLE, "
                 "x DOUBLE, y DOUBLE, z DOUBLE, timelapse BOOLEAN, filename STRING, t DOUBLE")
LOCATIONS = ("id STRING, ride_id STRING, uuid STRING, timestamp TIMESTAMP, offset DOUBLE, "
             "course DOUBLE, latitude DOUBLE, longitude DOUBLE, geohash STRING, speed DOUBLE, "
             "accuracy DOUBLE, timelapse BOOLEAN, filename STRING, t DOUBLE")


def read_accelerations(spark, input_dir):
    return spark.readStream.schema(ACCELERATIONS).parquet(str(Path(input_dir) / "accelerations"))


def read_locations(spark, input_dir):
    return spark.readStream.schema(LOCATIONS).parquet(str(Path(input_dir) / "locations"))


def windowed_speed(locations):
    locations.withWatermark("timestamp", "30 seconds").createOrReplaceTempView("locations_wm")
    return locations.sparkSession.sql("""
        SELECT w.start AS window_start, w.end AS window_end, uuid, mean_speed
        FROM (SELECT window(timestamp, '15 seconds') AS w, uuid, AVG(speed) AS mean_speed
              FROM locations_wm
              GROUP BY window(timestamp, '15 seconds'), uuid)
    """)


def join_streams(accelerations, locations):
    acc = accelerations.withWatermark("timestamp", "30 seconds")
    loc = locations.withWatermark("timestamp", "30 seconds")
    acc.selectExpr(*[f"`{c}` AS acc_{c}" for c in acc.columns]).createOrReplaceTempView("acc")
    loc.selectExpr(*[f"`{c}` AS loc_{c}" for c in loc.columns]).createOrReplaceTempView("loc")
    return accelerations.sparkSession.sql("""
        SELECT * FROM acc FULL OUTER JOIN loc
        ON acc_uuid = loc_uuid
        AND loc_timestamp BETWEEN acc_timestamp - INTERVAL 1 SECOND AND acc_timestamp + INTERVAL 1 SECOND
    """)


def start_queries(spark, results_dir):
    results = Path(results_dir)
    inp, out, chk = results / "stream" / "input", results / "output", results / "_checkpoints"
    acc, loc = read_accelerations(spark, inp), read_locations(spark, inp)
    queries = []
    for name, df in (("accelerations", acc), ("locations", loc)):
        queries.append(df.writeStream.format("parquet").outputMode("append")
                       .option("path", str(out / "simple" / name))
                       .option("checkpointLocation", str(chk / name)).start())

    def to_parquet(batch, batch_id):
        batch.write.mode("append").parquet(str(out / "windowed"))

    queries.append(windowed_speed(loc).writeStream.outputMode("update").foreachBatch(to_parquet)
                   .option("checkpointLocation", str(chk / "windowed")).start())
    queries.append(join_streams(acc, loc).writeStream.format("parquet")
                   .option("path", str(out / "stream-joined"))
                   .option("checkpointLocation", str(chk / "joined")).start())
    return queries
