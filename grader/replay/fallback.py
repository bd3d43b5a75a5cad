"""When ``start_queries`` raises: which sinks the error is about, and starting the others.

The traceback says which contract function raised (``windowed_speed`` concerns the windowed sink
only; ``read_locations`` every sink that reads locations); failing that, Spark's error class may
name the part (update mode on a file sink: 8.2b). The grader then starts each other sink itself
from the student's own functions, with the contract's sinks, so one part's mistake costs one part.
"""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

from grader.contract import QUERY_FUNCTIONS, SINK_FUNCTIONS, SINK_PARTS, SINKS
from grader.spark_errors import translate
from grader.submission import describe_exception


def blamed_function(error: BaseException, submission: Path) -> str | None:
    """The innermost of the student's contract functions (start_queries aside) the error passed through."""
    found = None
    for frame in traceback.extract_tb(error.__traceback__):
        if str(frame.filename).startswith(str(submission)) and frame.name in QUERY_FUNCTIONS and frame.name != "start_queries":
            found = frame.name
    return found


def blamed_sinks(error: BaseException, submission: Path, message: str) -> tuple[list[str], str | None]:
    """(the sinks ``error`` concerns, the contract function it came from); no sinks when unknown."""
    function = blamed_function(error, submission)
    if function:
        return [sink for sink, functions in SINK_FUNCTIONS.items() if function in functions], function
    part, _ = translate(message)
    return [sink for sink, owner in SINK_PARTS.items() if owner == part], None


def start_sinks(module: Any, spark: Any, results: Path, sinks: list[str], log: Any) -> None:
    """Start ``sinks`` from the student's read_*, windowed_speed and join_streams, with the
    contract's sinks and checkpoints of the grader's own; log what started and what raised."""
    input_dir = str(results / "stream" / "input")
    checkpoints = results / "checkpoints-fallback"

    def file_sink(frame: Any, sink: str) -> Any:
        return (frame.writeStream.format("parquet").outputMode("append").option("path", str(results / SINKS[sink]))
                .option("checkpointLocation", str(checkpoints / sink)).start())

    def windowed() -> Any:
        def append(batch: Any, batch_id: int) -> None:
            batch.write.mode("append").parquet(str(results / SINKS["windowed"]))

        frame = module.windowed_speed(module.read_locations(spark, input_dir))
        return (frame.writeStream.outputMode("update").foreachBatch(append)
                .option("checkpointLocation", str(checkpoints / "windowed")).start())

    starters = {
        "simple-accelerations": lambda: file_sink(module.read_accelerations(spark, input_dir), "simple-accelerations"),
        "simple-locations": lambda: file_sink(module.read_locations(spark, input_dir), "simple-locations"),
        "windowed": windowed,
        "joined": lambda: file_sink(module.join_streams(module.read_accelerations(spark, input_dir),
                                                        module.read_locations(spark, input_dir)), "joined"),
    }
    started = []
    for sink in sinks:
        try:
            starters[sink]()
            started.append(sink)
        except Exception as error:
            log({"event": "query-failed", "query": {"sink": sink, "sinks": [sink]}, "sinks": [sink],
                 "error": describe_exception(error, limit=6000)})
    log({"event": "fallback", "started": started})
