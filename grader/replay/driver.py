"""Part 8.2, inside the sandbox: replay the dataset into the student's queries, step by step.

The replay, not the student's feed, fills ``input`` here, so a broken 8.1 costs only 8.1's
points. It publishes replay steps, each one or several consecutive step folders by the data's
schedule (``grader.replay.schedule``: fewer micro-batches, no verdict changed). For every replay step:
both kinds are written to staging and renamed into ``input``, every query is driven with
``processAllAvailable``, and the files each sink gained are copied aside as that step's
observation. One flush step follows the data: a row of each kind, route
``__flush__``, an hour later, which moves every watermark past the data so the last windows and
every outer-join row without a partner are written out (by the batch after it: ``settle``).
The flush rows are removed before comparison.

``start_queries`` only has to start the queries: it runs in a thread of its own, and if it has
not returned after ``start_seconds`` (it waits for them, as Spark's examples end, with
``awaitTermination``) the replay goes on with the queries it started and says so. When it raises,
the traceback (or Spark's error) names the sinks at fault, and the grader starts the others itself
from the student's functions (``grader.replay.fallback``), so one part's mistake costs one part.
"""

from __future__ import annotations

import json
import shutil
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from grader.contract import FLUSH_DELAY, FLUSH_ROUTE, KINDS, SINKS
from grader.dataset import SCHEMAS, Step, restamp, step_name
from grader.replay.fallback import blamed_sinks, start_sinks
from grader.replay.overrides import Overrides, install
from grader.replay.schedule import Folders, ReplayStep, read_folders, replay_steps
from grader.submission import describe_exception, load_module

Log = Any  # Callable[[dict], None]


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


def flush_step(steps: list[Step]) -> ReplayStep:
    last = steps[-1].seconds
    return ReplayStep((Step(step_name(last + FLUSH_DELAY), last + FLUSH_DELAY),))


def publish(tables: dict[str, pa.Table], step: ReplayStep, results: Path) -> None:
    """Write each kind's table to the replay's own staging folder, then rename them into input:
    one folder (named by the replay step's first folder) and one rename per kind, so a query
    that reads one kind sees the whole replay step in one batch. Both kinds are written before
    either is renamed, so the renames are microseconds apart where the writes took milliseconds:
    a join's listing less often sees one kind only. It still can, when it straddles the renames;
    ``grader.replay.schedule`` says why that changes no row's fate (``ReplayStep.first``).

    The staging folder is not results/stream/staging: a query that wrongly reads that folder
    must see the same (nothing) on every run.
    """
    staged: dict[str, Path] = {}
    for kind in KINDS:
        table = tables.get(kind)
        if table is None or table.num_rows == 0:
            continue
        staged[kind] = results / ".replay-staging" / kind / step.name
        staged[kind].mkdir(parents=True)
        pq.write_table(table, staged[kind] / "part-0.parquet")
    for kind, folder in staged.items():
        folder.rename(results / "stream" / "input" / kind / step.name)


def settle(step: ReplayStep, kinds: tuple[str, ...], results: Path) -> None:
    """An empty file of each of ``kinds``, added to ``step``'s folders in input: a batch without
    rows, which does what Spark's no-data batch did (``grader.replay.schedule``): the watermark late
    rows are dropped by catches up with the one state is evicted by, and what that releases is written."""
    for kind in kinds:
        staged = results / ".replay-staging" / kind / f"{step.name}-settle"
        staged.mkdir(parents=True)
        pq.write_table(SCHEMAS[kind].empty_table(), staged / "part-1.parquet")  # named as a writer would name it
        target = results / "stream" / "input" / kind / step.name
        if target.is_dir():
            (staged / "part-1.parquet").rename(target / "part-1.parquet")
            staged.rmdir()
        else:
            staged.rename(target)


def step_tables(folders: Folders, step: ReplayStep, start: datetime) -> dict[str, pa.Table]:
    """Each kind's rows of every folder of ``step``, in folder order, restamped."""
    return {kind: restamp(pa.concat_tables([folders[s.name][kind] for s in step.steps]), start) for kind in KINDS}


class SinkObserver:
    """Copies the parquet files each sink gained since the last look into ``observed/<sink>/<n>``,
    keeping their folders (``uuid=.../``: partition columns are read from them)."""

    def __init__(self, results: Path, observed: Path) -> None:
        self.results = results
        self.observed = observed
        self.seen: dict[str, tuple[int, int]] = {}

    def look(self, index: int) -> dict[str, list[str]]:
        gained: dict[str, list[str]] = {}
        for sink, relative in SINKS.items():
            root = self.results / relative
            files = []
            stated = [(path, path.stat()) for path in root.rglob("*.parquet")] if root.is_dir() else []
            for path, stat in sorted(stated, key=lambda found: (found[1].st_mtime_ns, found[0].as_posix())):
                rel = path.relative_to(root)
                if any(part.startswith(("_", ".")) for part in rel.parts) or path.is_symlink():
                    continue
                key = f"{sink}/{rel.as_posix()}"
                if self.seen.get(key) == (stat.st_size, stat.st_mtime_ns):
                    continue
                self.seen[key] = (stat.st_size, stat.st_mtime_ns)
                target = self.observed / sink / f"{index:03d}" / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
                files.append(rel.as_posix())
            gained[sink] = files
        return gained


def describe_query(query: Any, overrides: Overrides) -> dict:
    """What the grader needs to know of a query, as plain data."""
    info: dict[str, Any] = {"id": None, "name": None, "active": False, "sink": None, "batches": None, "sinks": [], "trigger": ""}
    try:
        info.update(id=str(query.id), name=query.name, active=bool(query.isActive))
        info.update({k: v for k, v in overrides.queries.get(info["id"], {}).items() if k in ("sinks", "trigger")})
        progress = query.lastProgress  # not recentProgress: that is 100 progress reports as JSON
        if progress:
            info["sink"] = str(progress["sink"]["description"])[:300]
            info["batches"] = int(progress["batchId"]) + 1
    except Exception as error:  # a dead JVM or a foreign object: report, do not crash
        info["error"] = describe_exception(error)
    return info


class Driver:
    """Drives every query after each step and keeps the first error of each."""

    def __init__(self, spark: Any, log: Log, overrides: Overrides) -> None:
        self.spark = spark
        self.log = log
        self.overrides = overrides
        self.queries: dict[str, Any] = {}
        self.failed: set[str] = set()
        self.ended: set[str] = set()

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
            if key in self.failed or key in self.ended:
                continue
            try:
                query.processAllAvailable()
                if not query.isActive and query.exception() is None:
                    # Stopped without an error: a trigger that runs once (availableNow), or the student's stop().
                    self.ended.add(key)
                    self.log({"event": "query-ended", "query": self.describe(query)})
            except Exception as error:
                self.failed.add(key)
                self.log({"event": "query-failed", "query": self.describe(query), "error": describe_exception(error, limit=6000)})

    def describe(self, query: Any) -> dict:
        return describe_query(query, self.overrides)

    def stop(self) -> None:
        for query in self.queries.values():
            try:
                query.stop()
            except Exception:
                pass


def start_all(module: Any, spark: Any, results: Path, submission: Path, seconds: float, log: Log) -> Any:
    """Call ``start_queries`` and return what it returned; on a failure, start the sinks it did
    not concern from the student's functions; if it blocks, go on with what it started."""
    outcome: dict[str, Any] = {}

    def call() -> None:
        try:
            outcome["returned"] = module.start_queries(spark, str(results))
        except BaseException as error:  # SystemExit too: the student's error is a finding
            outcome["error"] = error

    thread = threading.Thread(target=call, name="start_queries", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        log({"event": "start-blocked", "seconds": seconds, "started": len(spark.streams.active)})
        return None
    error = outcome.get("error")
    if error is None:
        return outcome.get("returned")
    described = describe_exception(error, submission, limit=6000)
    sinks, function = blamed_sinks(error, submission, described["message"])
    log({"event": "start-failed", "error": described, "sinks": sinks, "function": function})
    if sinks and set(sinks) != set(SINKS):  # the error names its sinks: the others still get graded
        for query in spark.streams.active:
            query.stop()
        for leftover in ("output", "checkpoints"):
            shutil.rmtree(results / leftover, ignore_errors=True)
        start_sinks(module, spark, results, [s for s in SINKS if s not in sinks], log)
    return None


def run_queries(spark: Any, submission: Path, data_dir: Path, results: Path, observed: Path, start: datetime, log: Log,
                start_seconds: float = 30.0) -> None:
    """Replay ``data_dir`` into the student's queries; every finding goes to ``log``."""
    overrides = install()  # before the student's module can set anything
    folder_steps, folders = read_folders(data_dir)
    steps = replay_steps(folder_steps, folders)
    for kind in KINDS:
        (results / "stream" / "input" / kind).mkdir(parents=True, exist_ok=True)
    observer = SinkObserver(results, observed)
    driver = Driver(spark, log, overrides)
    try:
        module = load_module(submission, "stream_queries")
    except BaseException as error:
        log({"event": "import-failed", "error": describe_exception(error, submission)})
        return
    timeline = [(step, step_tables(folders, step, start)) for step in steps]
    flush = flush_step(folder_steps)
    timeline.append((flush, {kind: flush_table(kind, flush.seconds, start) for kind in KINDS}))
    for index, (step, tables) in enumerate(timeline):
        alone = {kind: tables[kind] for kind in step.first}  # where a join's split batch would matter
        if alone:
            publish(alone, step, results)
            driver.drive()
        publish({kind: table for kind, table in tables.items() if kind not in alone}, step, results)
        if index == 0:
            driver.adopt(start_all(module, spark, results, submission, start_seconds, log))
            log({"event": "overrides", "notes": overrides.notes})
            log({"event": "started", "queries": [driver.describe(q) for q in driver.queries.values()]})
            if not driver.queries:
                return
        driver.drive()
        kinds = KINDS if step is flush else timeline[index + 1][0].older
        if kinds:
            settle(step, kinds, results)
            driver.drive()
        log({
            "event": "step",
            "index": index,
            "step": step.label,
            "folders": [s.name for s in step.steps],
            "flush": step is flush,
            "gained": observer.look(index),
            "queries": [driver.describe(q) for q in driver.queries.values()],
        })
    driver.stop()
    log({"event": "overrides", "notes": overrides.notes})
    log({"event": "done"})


def open_log(path: Path):
    """An append-only JSON-lines log, flushed per line so a killed child leaves what it saw."""
    handle = path.open("a", encoding="utf-8")

    def write(record: dict) -> None:
        handle.write(json.dumps(record, sort_keys=True, default=str) + "\n")
        handle.flush()

    return write
