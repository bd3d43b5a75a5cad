"""Inside the queries child: settings a student may use that change only speed are undone.

The replay drives every query itself, step by step (``processAllAvailable``), so the verdict must
not depend on how fast a query would run on its own. A processing-time trigger made each step
wait for the next tick (a correct solution was stopped at the part's time limit on the real
data); a shuffle-partition count set by the student cost ~3 s per micro-batch at Spark's default
of 200; a rate limit only splits each step into more batches; a state store of the student's
choice would undo the grader's (``grader.replay.spark``: RocksDB, and the join state format only it
supports). None of them changes what a query writes, so the grader runs such queries with the
default trigger, its own settings and no rate limit, and says so in the feedback. A trigger that
does change what is written (``once``, ``availableNow``: the query stops after the data present
when it starts) is kept, and noted on the query so the feedback can name it when the query stops
early.

Installed before the student's module is imported, on pyspark's own classes, in this child only.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pyspark.sql.conf import RuntimeConfig
from pyspark.sql.session import SparkSession
from pyspark.sql.streaming.readwriter import DataStreamReader, DataStreamWriter

from grader.contract import SINKS

PARTITIONS = "spark.sql.shuffle.partitions"
# The grader's settings a student may also set, and what the feedback says of the grader's own.
PINNED = {
    PARTITIONS: "one shuffle partition, two on large data; the number of partitions changes how fast a query runs",
    "spark.sql.streaming.stateStore.providerClass": "a RocksDB state store; where a query keeps its state changes how "
                                                    "fast it runs",
    "spark.sql.streaming.join.stateFormatVersion": "the join state format 4, which evicts by the watermark at less "
                                                   "cost; the format changes how fast a join runs",
    "spark.sql.streaming.noDataMicroBatches.enabled": "no batches that only move the watermark, but one of the "
                                                      "grader's own wherever a row's fate depends on it; they "
                                                      "change how fast a query runs",
}
_PINNED = {key.lower(): key for key in PINNED}
RATE_LIMITS = ("maxfilespertrigger", "maxbytespertrigger")
SEMANTIC_TRIGGERS = ("once", "availableNow", "continuous", "realTime")


class Overrides:
    """What was undone (sentences for the feedback) and what each started query asked for."""

    def __init__(self) -> None:
        self.notes: list[str] = []
        self.queries: dict[str, dict[str, Any]] = {}  # query id -> {"trigger", "path", "sinks"}

    def note(self, sentence: str) -> None:
        if sentence not in self.notes:
            self.notes.append(sentence)


def sinks_of(path: object) -> list[str]:
    """The contract's sink a query writes to, from its path (foreachBatch queries have none)."""
    text = str(path or "").rstrip("/")
    return [sink for sink, relative in SINKS.items() if text.endswith(relative)]


def _patch(cls: type, name: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
    original = getattr(cls, name)
    setattr(cls, name, make(original))


def install() -> Overrides:
    """Patch pyspark's writer, reader, conf and builder; return the record they fill."""
    done = Overrides()

    def trigger(original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(self: DataStreamWriter, *args: Any, **kwargs: Any) -> DataStreamWriter:
            interval = kwargs.get("processingTime", args[0] if args else None)
            if interval is not None and not any(kwargs.get(k) for k in SEMANTIC_TRIGGERS):
                done.note(f"`.trigger(processingTime={interval!r})`: the grader ran this query with the default "
                          "trigger instead; a trigger interval changes when Spark looks for new files, never what "
                          "your query writes.")
                return self
            self._dsc650_trigger = next((f"{k}={kwargs[k]!r}" for k in SEMANTIC_TRIGGERS if kwargs.get(k)), "")  # type: ignore[attr-defined]
            return original(self, *args, **kwargs)
        return wrapper

    def writer_option(original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(self: DataStreamWriter, key: str, value: Any) -> DataStreamWriter:
            if str(key).lower() == "path":
                self._dsc650_path = value  # type: ignore[attr-defined]
            return original(self, key, value)
        return wrapper

    def start(original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(self: DataStreamWriter, *args: Any, **kwargs: Any) -> Any:
            query = original(self, *args, **kwargs)
            path = kwargs.get("path", args[0] if args else getattr(self, "_dsc650_path", None))
            try:
                done.queries[str(query.id)] = {"trigger": getattr(self, "_dsc650_trigger", ""), "path": str(path or ""),
                                               "sinks": sinks_of(path)}
            except Exception:  # a query that failed at once has no id to file it under
                pass
            return query
        return wrapper

    def rate_limit(key: object, value: object) -> bool:
        if str(key).lower() not in RATE_LIMITS:
            return False
        done.note(f"`.option({key!r}, {value!r})`: the grader read every new file at once instead; a rate limit "
                  "changes how many micro-batches Spark runs, never what your query writes.")
        return True

    def reader_option(original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(self: DataStreamReader, key: str, value: Any) -> DataStreamReader:
            return self if rate_limit(key, value) else original(self, key, value)
        return wrapper

    def reader_options(original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(self: DataStreamReader, **options: Any) -> DataStreamReader:
            return original(self, **{k: v for k, v in options.items() if not rate_limit(k, v)})
        return wrapper

    def pinned(key: object, value: object) -> bool:
        name = _PINNED.get(str(key).strip().lower())
        if name is None:
            return False
        done.note(f"`{name} = {value}`: the grader kept its own setting ({PINNED[name]}, never what it writes).")
        return True

    def conf_set(original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(self: RuntimeConfig, key: str, value: Any) -> None:
            if not pinned(key, value):
                original(self, key, value)
        return wrapper

    def get_or_create(original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(self: Any) -> SparkSession:
            for key in [k for k in self._options if pinned(k, self._options[k])]:
                del self._options[key]
            return original(self)
        return wrapper

    def sql(original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(self: SparkSession, query: str, *args: Any, **kwargs: Any) -> Any:
            match = re.fullmatch(r"\s*SET\s+([\w.]+)\s*=\s*(\S+)\s*;?\s*", str(query), re.I)
            if match and pinned(match[1], match[2]):
                query = f"SET {match[1]}"
            return original(self, query, *args, **kwargs)
        return wrapper

    _patch(DataStreamWriter, "trigger", trigger)
    _patch(DataStreamWriter, "option", writer_option)
    _patch(DataStreamWriter, "start", start)
    _patch(DataStreamReader, "option", reader_option)
    _patch(DataStreamReader, "options", reader_options)
    _patch(RuntimeConfig, "set", conf_set)
    _patch(SparkSession.Builder, "getOrCreate", get_or_create)
    _patch(SparkSession, "sql", sql)
    return done
