"""Spark's errors, translated into one sentence that names the fix.

Each rule is (pattern, part or None, sentence). The part lets an error raised while starting
all queries at once be charged to the query it is about.
"""

from __future__ import annotations

import re

RULES: tuple[tuple[str, str | None, str], ...] = (
    (r"STREAMING_OUTPUT_MODE\.UNSUPPORTED_DATASOURCE|does not support Update output mode", "8.2b",
     "A parquet file sink accepts only append mode: write the update-mode results with foreachBatch, appending each batch (README, 8.2b)."),
    (r"Append output mode not supported when there are streaming aggregations.*without watermark", "8.2b",
     "Append mode needs a watermark on an aggregation: add withWatermark('timestamp', '30 seconds') and use update mode with foreachBatch."),
    (r"Complete output mode not supported when there are no streaming aggregations", None,
     "Complete mode needs an aggregation: write the simple and joined outputs in append mode."),
    (r"(Stream-stream|stream-stream).*(outer|Outer).*join|(FullOuter|LeftOuter|RightOuter) join.*not supported without a watermark|STREAM_FAILED.*outer join", "8.2c",
     "An outer stream-stream join needs withWatermark on both sides and a time-range condition, e.g. loc_timestamp BETWEEN acc_timestamp - INTERVAL 1 SECOND AND acc_timestamp + INTERVAL 1 SECOND."),
    (r"join between two streaming DataFrames.*not supported in (Update|Complete) output mode|Join between two streaming DataFrame.*Update", "8.2c",
     "A stream-stream join runs only in append mode: start the join as its own query with outputMode('append')."),
    (r"COLUMN_ALREADY_EXISTS|Found duplicate column", "8.2c",
     "Both sides of the join have columns named id, uuid, timestamp...: prefix each side's columns (acc_*, loc_*) so the output can be read back."),
    (r"PARQUET_TYPE_ILLEGAL.*NANOS|TIMESTAMP\(NANOS", None,
     "Spark 4 cannot read nanosecond timestamps: write parquet with coerce_timestamps='us' (or cast to datetime64[us, UTC])."),
    (r"Invalid batch: .* != .*\bt#", None,
     "The schema changed after the query started: the t=SSS.S folders add a column t, so declare t (double) in your schema or read with option('recursiveFileLookup', 'true')."),
    (r"Schema must be specified when creating a streaming source|UNABLE_TO_INFER_SCHEMA", None,
     "A streaming file source needs its schema up front: pass .schema(...) to readStream (README, For students)."),
    (r"checkpointLocation must be specified|CHECKPOINT_LOCATION", None,
     "Set option('checkpointLocation', ...) on every query, under results_dir (README, For students)."),
    (r"stream/staging/\S* does not exist|FileNotFoundException.*stream/staging/", None,
     "Your query reads results/stream/staging, where the feed only writes files before moving them: read results_dir/stream/input/<kind>."),
    (r"PATH_NOT_FOUND|Path does not exist", None,
     "A path your queries read does not exist: read from results_dir/stream/input/<kind>."),
    (r"Read-only file system|Mkdirs failed|Permission denied", None,
     "Your code wrote outside its results folder: write only under results_dir (and its checkpoints there too)."),
    (r"Multiple streaming aggregations are not supported", "8.2b",
     "Only one streaming aggregation is allowed per query: compute the windowed mean with a single groupBy(window, uuid).agg(...)."),
    (r"Sorting is not supported on streaming DataFrames", None,
     "Streaming DataFrames cannot be sorted (except after an aggregation in complete mode): remove orderBy/sort."),
    (r"UNRESOLVED_COLUMN|cannot resolve", None,
     "A column your query names does not exist: check the spelling against the schema in the README."),
)


def translate(message: str) -> tuple[str | None, str]:
    """(part or None, one sentence) for a Spark or Python error message."""
    for pattern, part, sentence in RULES:
        if re.search(pattern, message, re.S):
            return part, sentence
    first = next((line.strip() for line in message.splitlines() if line.strip()), "no message")
    first = re.sub(r"\s*SQLSTATE: \w+", "", first)
    return None, first[:300]


def part_of_query(sink: str | None, text: str) -> str | None:
    """Which 8.2 part a failing query belongs to, from its sink and its plan."""
    haystack = f"{sink or ''}\n{text}"
    for needle, part in (("stream-joined", "8.2c"), ("windowed", "8.2b"), ("simple", "8.2a")):
        if needle in haystack:
            return part
    if "Join" in haystack or "join" in haystack:
        return "8.2c"
    if "Aggregate" in haystack or "ForeachBatchSink" in haystack:
        return "8.2b"
    return None
