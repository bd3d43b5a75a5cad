"""Parquet files written by student code, read into plain canonical rows.

A row is a dict of canonical column name -> str | float | bool | None; timestamps become ISO
strings ("2026-01-01T00:00:15.000000Z") so goldens, comparisons and feedback share one form.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from grader.dataset import read_parquet

Row = dict[str, Any]
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class UnreadableOutput(ValueError):
    """A parquet file the grader cannot read; the message says which and why."""


ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # Arrow's %S holds the microseconds: "15.000000"


def iso_micros(value: str) -> int:
    """Microseconds since the epoch of an ISO string: UTC whatever the process's time zone
    (a naive ``strptime(...).timestamp()`` would read it in local time)."""
    instant = datetime.fromisoformat(value)
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=timezone.utc)
    delta = instant - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _micros(column: pa.Array) -> pa.Array:
    """Any parquet timestamp (ns from INT96 or pandas, ms, naive) as microseconds in UTC."""
    unit_type = pa.timestamp("us", tz="UTC")
    if column.type.tz is None:
        column = pc.assume_timezone(column, "UTC")
    return column.cast(unit_type, safe=False)


def read_table(path: Path) -> pa.Table:
    try:
        table = read_parquet(path)
    except Exception as error:
        raise UnreadableOutput(f"{path.name} is not a readable parquet file ({str(error).splitlines()[0][:200]})") from None
    names = table.column_names
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise UnreadableOutput(
            f"columns {', '.join(duplicates)} appear twice: Spark cannot read this output back "
            "(COLUMN_ALREADY_EXISTS); prefix or rename each side's columns before the join"
        )
    return table


def _as_iso(column: pa.Array) -> pa.Array:
    """Timestamps (top level or inside a struct) as ISO strings, formatted by Arrow: the grader
    reads thousands of rows per sink, and a Python datetime per value was most of the cost."""
    if pa.types.is_timestamp(column.type):
        return pc.strftime(_micros(column), format=ISO_FORMAT)
    if pa.types.is_struct(column.type):
        fields = [column.type.field(i) for i in range(column.type.num_fields)]
        children = [_as_iso(column.field(i)) for i in range(len(fields))]
        return pa.StructArray.from_arrays(
            children,
            fields=[pa.field(f.name, child.type, f.nullable) for f, child in zip(fields, children)],
            mask=column.is_null(),
        )
    return column


def rows_of(table: pa.Table) -> list[Row]:
    """Plain rows; timestamp columns (top level or inside a struct) become ISO strings."""
    columns = {name: _as_iso(table[name].combine_chunks()) for name in table.column_names}
    return pa.table(columns).to_pylist() if columns else [{} for _ in range(table.num_rows)]


def read_rows(files: list[Path]) -> list[Row]:
    rows: list[Row] = []
    for file in files:
        rows.extend(rows_of(read_table(file)))
    return rows


def timestamp_units(files: list[Path]) -> set[str]:
    """The parquet timestamp types of ``timestamp`` columns, e.g. {"timestamp[ns, tz=UTC]"}."""
    found = set()
    for file in files:
        schema = pq.read_schema(file)
        if "timestamp" in schema.names:
            found.add(str(schema.field("timestamp").type))
    return found
