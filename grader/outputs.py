"""The three 8.2 outputs as canonical rows: the same code reads a student's sinks and the
reference's, so goldens and verdicts can never drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from grader.compare.columns import SIDES, ColumnMap, flatten_window, map_columns
from grader.compare.types import check_kinds
from grader.contract import FLUSH_ROUTE, KINDS
from grader.dataset import SCHEMAS, list_steps, read_step
from grader.observations import QueriesRecord
from grader.tables import Row, UnreadableOutput, concat, file_columns, read_files, rows_of

SIMPLE_COLUMNS = {f"simple-{kind}": SCHEMAS[kind].names for kind in KINDS}
WINDOWED_COLUMNS = ["window_start", "window_end", "uuid", "mean_speed"]
JOINED_COLUMNS = [
    "acc_uuid", "acc_timestamp", "acc_offset", "acc_x", "acc_y", "acc_z",
    "loc_uuid", "loc_timestamp", "loc_offset", "loc_speed",
]  # fmt: skip
ROUTE_COLUMNS = ("uuid", "acc_uuid", "loc_uuid")
# Columns the contract allows besides the compared ones, under any accepted side prefix: not worth a note.
_DATA_COLUMNS = {"t", *SCHEMAS["accelerations"].names, *SCHEMAS["locations"].names}


def contract_extra(column: str) -> bool:
    tokens = [t for t in re.split(r"[^a-z0-9]+", column.lower()) if t]
    if "_".join(tokens) in _DATA_COLUMNS | {"batch_id"}:
        return True
    aliases = {alias for names in SIDES.values() for alias in names}
    for cut in (tokens[1:], tokens[:-1]):
        if len(tokens) > 1 and (tokens[0] in aliases or tokens[-1] in aliases) and "_".join(cut) in _DATA_COLUMNS:
            return True
    return False


@dataclass
class SinkRows:
    """One sink's rows in canonical columns; ``step`` says after which replay step each came
    (its label) and ``index`` its position."""

    table: pa.Table = field(default_factory=lambda: pa.table({}))
    files: int = 0
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # why rows could not be read
    extra: list[str] = field(default_factory=list)
    _rows: list[Row] | None = field(default=None, repr=False)

    @property
    def rows(self) -> list[Row]:
        """The rows as plain dicts (timestamps as ISO strings): for the small outputs only."""
        if self._rows is None:
            self._rows = rows_of(self.table)
        return self._rows


def ride_to_uuid(data_dir: Path) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for step in list_steps(data_dir):
        for kind in KINDS:
            table = read_step(data_dir, kind, step.name).select(["ride_id", "uuid"])
            pairs = table.group_by(["ride_id", "uuid"]).aggregate([])
            mapping.update(zip(pairs["ride_id"].to_pylist(), pairs["uuid"].to_pylist()))
    mapping[FLUSH_ROUTE] = FLUSH_ROUTE
    return mapping


def _names(record: QueriesRecord, sink: str) -> dict[str, pa.DataType]:
    found: dict[str, pa.DataType] = {}
    for seen in record.steps:
        if relatives := seen.gained.get(sink, []):
            for name, kind in file_columns(record.observed / sink / f"{seen.index:03d}", relatives).items():
                found.setdefault(name, kind)
    return found


def _needed(names: dict[str, pa.DataType], mapping: ColumnMap) -> set[str] | None:
    """The columns worth reading from ``sink``'s files (``names``, mapped to the contract's by
    ``mapping``): those the contract's columns are found in, and ``batch_id``. None (all of them)
    when a file holds a struct (a window, flattened after reading) or a wanted column is not found
    (the feedback lists what there is). The reference's joined sink has 28 columns, 10 of them
    compared: at the original release's size the other 18 were most of the judge's memory."""
    if any(pa.types.is_struct(kind) for kind in names.values()) or mapping.missing:
        return None
    return {*mapping.found.values(), "batch_id"}


def read_sink(record: QueriesRecord, sink: str, wanted: list[str], routes: dict[str, str]) -> SinkRows:
    """Every row ``sink`` gained during the replay, renamed to ``wanted``, flush rows removed.

    Its columns' types are checked against the contract first: rows of a wrong type are never
    compared, the sink's ``problems`` say what to fix instead.
    """
    out = SinkRows()
    parts: list[pa.Table] = []
    kinds: dict[str, set[str]] = {}
    names = _names(record, sink)
    footer_columns = sorted(c for c in names if not c.startswith("__"))
    early = map_columns(footer_columns, wanted)
    needed = _needed(names, early)
    # Where the columns are known before reading, each step's flush rows go as it is read: the
    # whole sink is never held twice. Otherwise they go once, after the columns are mapped.
    flush_columns = [early.found[c] for c in ROUTE_COLUMNS if c in early.found] if needed is not None else []
    for seen in record.steps:
        relatives = seen.gained.get(sink, [])
        if not relatives:
            continue
        try:
            got = read_files(record.observed / sink / f"{seen.index:03d}", relatives, needed)
        except (UnreadableOutput, OSError) as error:
            out.problems.append(str(error))
            return out
        out.files += len(relatives)
        for column, found in got.kinds.items():
            kinds.setdefault(column, set()).update(found)
        got.table = _without_flush_rows(got.table, flush_columns)
        count = got.table.num_rows
        parts.append(got.table.append_column("__step", pa.array([seen.step] * count, pa.string()))
                     .append_column("__index", pa.array([seen.index] * count, pa.int64())))
    raw = flatten_window(concat(parts))
    for column in [c for c in kinds if "." in c]:  # a window struct's fields, under their flattened names
        kinds[column.replace(".", "_")] = kinds[column]
    if needed is None:
        columns = sorted(c for c in raw.column_names if not c.startswith("__"))
        mapping: ColumnMap = map_columns(columns, wanted)
    else:  # the footers' columns, read or not (the unread ones count as extra, as read ones would)
        columns, mapping = footer_columns, early
    if raw.num_rows and mapping.missing:
        out.problems.append(f"no column for {', '.join(mapping.missing)} (found: {', '.join(columns)})")
        return out
    problems, notes = check_kinds(mapping.found, kinds)
    if problems:
        out.problems += problems
        return out
    out.notes = mapping.notes + notes
    used = set(mapping.found.values())
    out.extra = [c for c in columns if c not in used and not contract_extra(c)]
    if out.extra:
        out.notes.append(f"ignored extra columns: {', '.join(out.extra)}")
    if not raw.num_rows:
        return out
    table = mapping.rename(raw, routes).append_column("step", raw["__step"]).append_column("index", raw["__index"])
    if "batch_id" in raw.column_names and pa.types.is_integer(raw.schema.field("batch_id").type):
        table = table.append_column("batch_id", raw["batch_id"].cast(pa.int64()))
    out.table = table if needed is not None else _without_flush_rows(table, ROUTE_COLUMNS)
    return out


def _without_flush_rows(table: pa.Table, columns: Iterable[str]) -> pa.Table:
    """``table`` less the rows of the replay's flush route (in any of the route ``columns``),
    filtered once (each filter copies every column: 58 MiB of joined rows at the original
    release's size), not at all when there are none."""
    keep = None
    for column in (c for c in columns if c in table.column_names):
        other = pc.fill_null(pc.not_equal(table[column].cast(pa.string()), FLUSH_ROUTE), True)
        keep = other if keep is None else pc.and_(keep, other)
    return table if keep is None or pc.all(keep).as_py() else table.filter(keep)


def final_windows(updates: list[Row]) -> list[Row]:
    """The last value emitted for each (window, route): update mode's result table."""
    latest: dict[tuple, Row] = {}
    for row in sorted(updates, key=lambda r: (r["index"], r.get("batch_id") or 0)):
        latest[(row["window_start"], row["window_end"], row["uuid"])] = row
    return [{c: row[c] for c in WINDOWED_COLUMNS} for row in latest.values()]


COLUMNS = {**SIMPLE_COLUMNS, "windowed": WINDOWED_COLUMNS, "joined": JOINED_COLUMNS}


def sink_reader(record: QueriesRecord, data_dir: Path) -> Callable[[str], SinkRows | None]:
    """Read one sink by name, on demand; None when no step was replayed (the queries never ran)."""
    routes: dict[str, str] = {}

    def read(sink: str) -> SinkRows | None:
        if not record.steps:
            return None
        if not routes:
            routes.update(ride_to_uuid(data_dir))
        return read_sink(record, sink, COLUMNS[sink], routes)

    return read


@dataclass
class Outputs:
    """The reference's 8.2 outputs, every sink read: what goldens are made from."""

    simple: dict[str, SinkRows]
    windowed: SinkRows
    joined: SinkRows


def read_outputs(record: QueriesRecord, data_dir: Path) -> Outputs:
    read = sink_reader(record, data_dir)
    empty = SinkRows(problems=["no step was replayed"])
    return Outputs(
        simple={sink: read(sink) or empty for sink in SIMPLE_COLUMNS},
        windowed=read("windowed") or empty,
        joined=read("joined") or empty,
    )
