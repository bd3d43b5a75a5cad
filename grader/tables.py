"""Parquet files written by student code, read into plain rows, as Spark would read them back.

A row is a dict of column name -> str | float | int | bool | None; timestamps become ISO strings
("2026-01-01T00:00:15.000000Z") so goldens, comparisons and feedback share one form, and decimals
become floats. Each column's kind (``timestamp``, ``string``, ``float``...) is kept beside the rows,
so the contract's types can be checked before any value is compared. Hive-style ``key=value``
folders become columns, as Spark's partition discovery makes them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

Row = dict[str, Any]
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # Arrow's %S holds the microseconds: "15.000000"
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"  # how Spark writes a null partition value


class UnreadableOutput(ValueError):
    """A parquet file the grader cannot read; the message says which and why."""


def iso_micros(value: str) -> int:
    """Microseconds since the epoch of an ISO string: UTC whatever the process's time zone
    (a naive ``strptime(...).timestamp()`` would read it in local time)."""
    instant = datetime.fromisoformat(value)
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=timezone.utc)
    delta = instant - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def iso(instant: datetime) -> str:
    """An instant in the rows' ISO form."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=timezone.utc)
    return instant.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def kind_of(data_type: pa.DataType) -> str:
    """A column's kind, in the words the feedback uses."""
    for test, kind in ((pa.types.is_timestamp, "timestamp"), (pa.types.is_date, "date"), (pa.types.is_boolean, "boolean"),
                       (pa.types.is_integer, "integer"), (pa.types.is_floating, "float"), (pa.types.is_decimal, "decimal"),
                       (pa.types.is_string, "string"), (pa.types.is_large_string, "string"), (pa.types.is_struct, "struct")):
        if test(data_type):
            return kind
    return str(data_type)


def _micros(column: pa.Array) -> pa.Array:
    """Any parquet timestamp (ns from INT96 or pandas, ms, naive) as microseconds in UTC."""
    unit_type = pa.timestamp("us", tz="UTC")
    if column.type.tz is None:
        column = pc.assume_timezone(column, "UTC")
    return column.cast(unit_type, safe=False)


def read_table(path: Path, columns: set[str] | None = None) -> pa.Table:
    """One parquet file written by student code (only ``columns``, of those it has, if given);
    never through a symbolic link."""
    if path.is_symlink():
        raise UnreadableOutput(f"{path.name} is a symbolic link, not a file the query wrote")
    try:
        with pq.ParquetFile(path) as file:
            names = file.schema_arrow.names
            table = file.read(columns=[n for n in dict.fromkeys(names) if n in columns] if columns is not None else None,
                              use_threads=False)  # the callers read several files at once
    except Exception as error:
        raise UnreadableOutput(f"{path.name} is not a readable parquet file ({str(error).splitlines()[0][:200]})") from None
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise UnreadableOutput(
            f"columns {', '.join(duplicates)} appear twice: Spark cannot read this output back "
            "(COLUMN_ALREADY_EXISTS); prefix or rename each side's columns before the join"
        )
    return table


def _plain(column: pa.Array) -> pa.Array:
    """Timestamps (top level or inside a struct) as ISO strings, formatted by Arrow (a Python
    datetime per value was most of the cost on thousands of rows), decimals as doubles."""
    return _normal(column, strings=True)


def _normal(column: pa.Array, strings: bool = False) -> pa.Array:
    """Timestamps in microseconds, UTC (as ISO strings if ``strings``), decimals as doubles,
    inside structs too: one form for values of one kind, whatever wrote them."""
    if pa.types.is_timestamp(column.type):
        return pc.strftime(_micros(column), format=ISO_FORMAT) if strings else _micros(column)
    if pa.types.is_decimal(column.type):
        return column.cast(pa.float64())
    if pa.types.is_struct(column.type):
        fields = [column.type.field(i) for i in range(column.type.num_fields)]
        children = [_normal(column.field(i), strings) for i in range(len(fields))]
        return pa.StructArray.from_arrays(
            children,
            fields=[pa.field(f.name, child.type, f.nullable) for f, child in zip(fields, children)],
            mask=column.is_null(),
        )
    return column


def kinds_of(table: pa.Table) -> dict[str, str]:
    """Column (and ``struct.field``) -> kind."""
    found = {}
    for schema_field in table.schema:
        found[schema_field.name] = kind_of(schema_field.type)
        if pa.types.is_struct(schema_field.type):
            for child in schema_field.type:
                found[f"{schema_field.name}.{child.name}"] = kind_of(child.type)
    return found


def rows_of(table: pa.Table) -> list[Row]:
    """Plain rows; timestamp columns (top level or inside a struct) become ISO strings."""
    columns = {name: _plain(table[name].combine_chunks()) for name in table.column_names}
    return pa.table(columns).to_pylist() if columns else [{} for _ in range(table.num_rows)]


def partition_values(relative: str) -> dict[str, tuple[Any, str]]:
    """``key=value`` folders of a file's path (relative to its sink) -> (value, kind), inferred
    as Spark infers partition columns: integers, then decimals, then timestamps, then strings."""
    found: dict[str, tuple[Any, str]] = {}
    for part in relative.split("/")[:-1]:
        key, sep, raw = part.partition("=")
        if not sep or not key:
            continue
        value = unquote(raw)
        if value == NULL_PARTITION:
            found[key] = (None, "string")
        elif re.fullmatch(r"-?\d{1,18}", value):
            found[key] = (int(value), "integer")
        elif re.fullmatch(r"-?(\d+\.\d*|\.\d+|\d+)([eE]-?\d+)?", value):
            found[key] = (float(value), "float")
        else:
            try:
                found[key] = (iso(datetime.fromisoformat(value)), "timestamp") if ":" in value else (value, "string")
            except ValueError:
                found[key] = (value, "string")
    return found


@dataclass
class Rows:
    """Rows read from several files as one table, and every kind each column had in them."""

    table: pa.Table = field(default_factory=lambda: pa.table({}))
    kinds: dict[str, set[str]] = field(default_factory=dict)


def normal_table(table: pa.Table) -> pa.Table:
    """``table`` with every column in its normal form (``_normal``)."""
    return pa.table({name: _normal(table[name].combine_chunks()) for name in table.column_names})


def _constant(value: Any, kind: str, count: int) -> pa.Array:
    """A partition folder's value as a column of ``count`` rows, typed as Spark infers it."""
    types = {"integer": pa.int64(), "float": pa.float64(), "timestamp": pa.timestamp("us", tz="UTC")}
    if kind == "timestamp" and value is not None:
        value = EPOCH + timedelta(microseconds=iso_micros(value))
    return pa.array([value] * count, types.get(kind, pa.string()))


def concat(tables: list[pa.Table]) -> pa.Table:
    """One table of several files' rows: a column missing from a file is null there; a column
    whose files disagree on its type is numbers if all are numbers, else strings (the types,
    checked first, say what is wrong)."""
    if not tables:
        return pa.table({})
    if _one_schema(tables):  # nothing to unify
        return pa.concat_tables(tables).drop_columns([f.name for f in tables[0].schema if pa.types.is_null(f.type)])
    types: dict[str, set[pa.DataType]] = {}
    for table in tables:
        for schema_field in table.schema:
            if not pa.types.is_null(schema_field.type):
                types.setdefault(schema_field.name, set()).add(schema_field.type)
    unified = {}
    for name, found in types.items():
        if len(found) > 1:
            numeric = all(pa.types.is_integer(t) or pa.types.is_floating(t) for t in found)
            unified[name] = pa.float64() if numeric else pa.string()
        else:
            unified[name] = next(iter(found))
    out = []
    for table in tables:
        columns = {}
        for name, wanted in unified.items():
            if name not in table.column_names:
                columns[name] = pa.nulls(table.num_rows, wanted)
            elif table[name].type != wanted:
                column = table[name]
                columns[name] = column.cast(wanted) if not pa.types.is_string(wanted) else as_strings(column)
            else:
                columns[name] = table[name]
        out.append(pa.table(columns))  # a file without columns adds no rows
    return pa.concat_tables(out)


def normal_concat(tables: list[pa.Table]) -> pa.Table:
    """``concat`` of the files' ``normal_table``s. Files of one schema (the usual case) are
    joined first and normalised once: a feed of the original release's size wrote 6,500 files."""
    if _one_schema(tables):
        return normal_table(concat(tables))
    return concat([normal_table(t) for t in tables])


def _one_schema(tables: list[pa.Table]) -> bool:
    return bool(tables) and len(tables[0].schema) > 0 and all(t.schema.equals(tables[0].schema) for t in tables[1:])


def as_strings(column: pa.ChunkedArray) -> pa.Array:
    try:
        return column.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.array([None if v is None else str(v) for v in column.to_pylist()], pa.string())


def file_columns(root: Path, relatives: list[str]) -> dict[str, pa.DataType]:
    """Every column the files ``root/relative`` hold (from their footers) and their partition
    folders name, with its type (a partition's: null), without reading any rows."""
    found: dict[str, pa.DataType] = {}
    top = os.path.realpath(root)
    for relative in relatives:
        if os.path.realpath(root / relative) != os.path.join(top, relative):
            continue  # through a symbolic link: never read, read_files says so
        try:
            schema = pq.read_schema(root / relative)
        except Exception:
            continue  # read_files says what is wrong with it
        for schema_field in schema:
            found.setdefault(schema_field.name, schema_field.type)
        for key in partition_values(relative):
            found.setdefault(key, pa.null())
    return found


def read_files(root: Path, relatives: list[str], columns: set[str] | None = None) -> Rows:
    """The rows of each file ``root/relative`` (only ``columns`` if given), with its partition
    columns; a path that leaves ``root`` or goes through a symbolic link is refused."""
    out = Rows()
    top = os.path.realpath(root)
    tables = []
    for relative in relatives:
        path = root / relative
        if os.path.realpath(path) != os.path.join(top, relative):
            raise UnreadableOutput(f"{relative} goes through a symbolic link, not a file the query wrote")
        table = read_table(path, columns)
        for name, kind in kinds_of(table).items():
            out.kinds.setdefault(name, set()).add(kind)
        table = normal_table(table)
        for key, (value, kind) in partition_values(relative).items():
            if key in table.column_names:
                continue
            out.kinds.setdefault(key, set()).add(kind)
            table = table.append_column(key, _constant(value, kind, table.num_rows))
        tables.append(table)
    out.table = concat(tables)
    return out
