"""Part 8.2, inside the sandbox: replay the dataset into the student's queries, step by step.

The replay, not the student's feed, fills ``input`` here, so a broken 8.1 costs only 8.1's
points. For every step: both kinds are written to staging and renamed into ``input``, every
query is driven with ``processAllAvailable``, and the files each sink gained are copied aside as
that step's observation. One flush step follows the data: a row of each kind, route ``__flush__`` an hour
later, which moves every watermark past the data so the last windows and every outer-join row
without a partner are written out (by the no-data batch that follows it). The flush rows are removed before comparison.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from grader.dataset import KINDS, SCHEMAS, Step, list_steps, read_step, restamp, step_name
from grader.spark_errors import translate
from grader.submission import describe_exception, load_module

FLUSH_ROUTE = "__flush__"
FLUSH_DELAY = 3600.0  # seconds after the last step: far beyond any watermark or window
SINKS = {
    "simple-accelerations": "output/simple/accelerations",
    "simple-locations": "output/simple/locations",
    "windowed": "output/windowed",
    "joined": "output/stream-joined",
}


def flush_table(kind: str, offset: float, start: datetime) -> pa.Table:
    """One row of route ``__flush__`` at ``offset`` seconds, every other value zero or empty."""
    row: dict[str, Any] = {}
    for field in SCHEMAS[kind]:
        if pa.types.is_floating(field.type):
            row[field.name] = 0.0
        elif pa.types.is_boolean(field.type):
            row[field.name] = False
        elif pa.types.is_string(field.type):
            row[field.name] = FLUSH_ROUTE
        else:
            row[field.name] = start
    row["offset"] = offset
    return restamp(pa.Table.from_pylist([row], schema=SCHEMAS[kind]), start)


def flush_steps(steps: list[Step]) -> list[Step]:
    last = steps[-1].seconds
    return [Step(step_name(last + FLUSH_DELAY), last + FLUSH_DELAY)]


def publish(tables: dict[str, pa.Table], step: Step, results: Path) -> None:
    """Write each kind's table to the replay's own staging folder, then rename it into input.

    The staging folder is not results/stream/staging: a query that wrongly reads that folder
    must see the same (nothing) on every run.
    """
    for kind in KINDS:
        table = tables.get(kind)
        if table is None or table.num_rows == 0:
            continue
        staged = results / ".replay-staging" / kind / step.name
        staged.mkdir(parents=True)
        pq.write_table(table, staged / "part-0.parquet")
        staged.rename(results / "stream" / "input" / kind / step.name)


def step_tables(data_dir: Path, step: Step, start: datetime) -> dict[str, pa.Table]:
    return {kind: restamp(read_step(data_dir, kind, step.name), start) for kind in KINDS}


class SinkObserver:
    """Copies the parquet files each sink gained since the last look into ``observed/<sink>/<n>``."""

    def __init__(self, results: Path, observed: Path) -> None:
        self.results = results
        self.observed = observed
        self.seen: dict[str, tuple[int, int]] = {}

    def look(self, index: int) -> dict[str, list[str]]:
        gained: dict[str, list[str]] = {}
        for sink, relative in SINKS.items():
            root = self.results / relative
            files = []
            found = sorted(root.rglob("*.parquet"), key=lambda p: (p.stat().st_mtime_ns, p.as_posix())) if root.is_dir() else []
            for path in found:
                rel = path.relative_to(root)
                if any(part.startswith(("_", ".")) for part in rel.parts):
                    continue
                stat = path.stat()
                key = f"{sink}/{rel.as_posix()}"
                if self.seen.get(key) == (stat.st_size, stat.st_mtime_ns):
                    continue
                self.seen[key] = (stat.st_size, stat.st_mtime_ns)
                target = self.observed / sink / f"{index:03d}" / rel.as_posix().replace("/", "__")
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
                files.append(target.name)
            gained[sink] = files
        return gained


def describe_query(query: Any) -> dict:
    """What the grader needs to know of a query, as plain data."""
    info: dict[str, Any] = {"id": None, "name": None, "active": False, "sink": None, "batches": None}
    try:
        info.update(id=str(query.id), name=query.name, active=bool(query.isActive))
        progress = query.lastProgress  # not recentProgress: that is 100 progress reports as JSON
        if progress:
            info["sink"] = str(progress["sink"]["description"])[:300]
            info["batches"] = int(progress["batchId"]) + 1
    except Exception as error:  # a dead JVM or a foreign object: report, do not crash
        info["error"] = describe_exception(error)
    return info


def start_parts(module: Any, spark: Any, results: Path, skip: str | None, log: Any) -> None:
    """After start_queries failed: start every other part from the student's own functions,
    with the contract's sinks, so one part's mistake does not cost the others their points."""
    input_dir, output = results / "stream" / "input", results / "output"
    checkpoints = results / "checkpoints-fallback"

    def file_sink(frame: Any, name: str, path: Path) -> Any:
        return (frame.writeStream.format("parquet").outputMode("append").option("path", str(path))
                .option("checkpointLocation", str(checkpoints / name)).start())

    def windowed() -> list[Any]:
        def append(batch: Any, batch_id: int) -> None:
            batch.write.mode("append").parquet(str(output / "windowed"))

        frame = module.windowed_speed(module.read_locations(spark, str(input_dir)))
        return [frame.writeStream.outputMode("update").foreachBatch(append)
                .option("checkpointLocation", str(checkpoints / "windowed")).start()]

    parts = {
        "8.2a": lambda: [file_sink(module.read_accelerations(spark, str(input_dir)), "acc", output / "simple" / "accelerations"),
                         file_sink(module.read_locations(spark, str(input_dir)), "loc", output / "simple" / "locations")],
        "8.2b": windowed,
        "8.2c": lambda: [file_sink(module.join_streams(module.read_accelerations(spark, str(input_dir)),
                                                       module.read_locations(spark, str(input_dir))), "joined", output / "stream-joined")],
    }
    started = []
    for part, start in parts.items():
        if part == skip:
            continue
        try:
            start()
            started.append(part)
        except Exception as error:
            log({"event": "query-failed", "query": {"sink": part}, "error": describe_exception(error, limit=6000)})
    log({"event": "fallback", "blamed": skip, "started": started})


class Driver:
    """Drives every query after each step and keeps the first error of each."""

    def __init__(self, spark: Any, log: Any) -> None:
        self.spark = spark
        self.log = log
        self.queries: dict[str, Any] = {}
        self.failed: set[str] = set()

    def adopt(self, returned: Any) -> None:
        """The queries start_queries returned, and any it started but did not return."""
        candidates = list(self.spark.streams.active)
        if isinstance(returned, dict):
            returned = list(returned.values())
        if isinstance(returned, (list, tuple)):
            candidates += [q for q in returned if hasattr(q, "processAllAvailable")]
        elif hasattr(returned, "processAllAvailable"):
            candidates.append(returned)
        for query in candidates:
            self.queries.setdefault(str(query.id), query)

    def drive(self) -> None:
        for key, query in self.queries.items():
            if key in self.failed:
                continue
            try:
                query.processAllAvailable()
            except Exception as error:
                self.failed.add(key)
                self.log({"event": "query-failed", "query": describe_query(query), "error": describe_exception(error, limit=6000)})

    def stop(self) -> None:
        for query in self.queries.values():
            try:
                query.stop()
            except Exception:
                pass


def run_queries(spark: Any, submission: Path, data_dir: Path, results: Path, observed: Path, start: datetime, log: Any) -> None:
    """Replay ``data_dir`` into the student's queries; every finding goes to ``log``."""
    steps = list_steps(data_dir)
    for kind in KINDS:
        (results / "stream" / "input" / kind).mkdir(parents=True, exist_ok=True)
    observer = SinkObserver(results, observed)
    driver = Driver(spark, log)
    try:
        module = load_module(submission, "stream_queries")
    except BaseException as error:
        log({"event": "import-failed", "error": describe_exception(error, submission)})
        return
    timeline = [(step, step_tables(data_dir, step, start)) for step in steps]
    last = steps[-1].seconds
    timeline += [
        (flush, {kind: flush_table(kind, flush.seconds, start) for kind in KINDS}) for flush in flush_steps(steps)
    ]
    for index, (step, tables) in enumerate(timeline):
        publish(tables, step, results)
        if index == 0:
            try:
                returned = module.start_queries(spark, str(results))
            except BaseException as error:
                described = describe_exception(error, submission, limit=6000)
                log({"event": "start-failed", "error": described})
                returned = None
                blamed, _ = translate(described["message"])
                if blamed:  # Spark named the part at fault: the others still get graded
                    for query in spark.streams.active:
                        query.stop()
                    for leftover in ("output", "checkpoints"):
                        shutil.rmtree(results / leftover, ignore_errors=True)
                    start_parts(module, spark, results, blamed, log)
            driver.adopt(returned)
            log({"event": "started", "queries": [describe_query(q) for q in driver.queries.values()]})
            if not driver.queries:
                return
        driver.drive()
        log({
            "event": "step",
            "index": index,
            "step": step.name,
            "flush": step.seconds > last,
            "gained": observer.look(index),
            "queries": [describe_query(q) for q in driver.queries.values()],
        })
    driver.stop()
    log({"event": "done"})


def open_log(path: Path):
    """An append-only JSON-lines log, flushed per line so a killed child leaves what it saw."""
    handle = path.open("a", encoding="utf-8")

    def write(record: dict) -> None:
        handle.write(json.dumps(record, sort_keys=True, default=str) + "\n")
        handle.flush()

    return write


