"""Map a student's column names onto the contract's, accepting equivalent forms.

Accepted without penalty, and reported: another column order, different letter case, a
``window`` struct instead of ``window_start``/``window_end``, ``ride_id`` instead of ``uuid``
(they are one-to-one), another name for the mean (``avg(speed)``...), other side prefixes in the
join (``a_``, ``accel_``, ``_loc`` suffixes...), and extra columns, which are ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

SIDES = {
    "acc": ("acc", "a", "accel", "accels", "acceleration", "accelerations", "left"),
    "loc": ("loc", "l", "location", "locations", "gps", "right"),
}
MEAN_NAMES = ("mean_speed", "avg_speed", "average_speed", "speed_mean", "speed_avg", "avg(speed)", "mean(speed)", "mean", "avg", "average", "speed")


def _tokens(name: str) -> tuple[str, ...]:
    return tuple(t for t in re.split(r"[^a-z0-9]+", name.lower()) if t)


@dataclass
class ColumnMap:
    """Canonical name -> the student's column; what was renamed; what is missing."""

    found: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    via_ride_id: set[str] = field(default_factory=set)  # canonical uuid columns read from ride_id

    def rename(self, table: pa.Table, ride_to_uuid: dict[str, str]) -> pa.Table:
        """The found columns under their canonical names; ``uuid`` read from ``ride_id`` mapped."""
        columns = {}
        for canonical, theirs in self.found.items():
            column = table[theirs]
            if canonical in self.via_ride_id:
                column = _mapped(column, ride_to_uuid)
            columns[canonical] = column
        return pa.table(columns) if columns else pa.table({})


def _mapped(column: pa.ChunkedArray, mapping: dict[str, str]) -> pa.Array:
    """Each value through ``mapping`` (kept where it has none), looked up once per distinct value."""
    encoded = pc.dictionary_encode(column.cast(pa.string())).combine_chunks()
    values = [mapping.get(v, v) for v in encoded.dictionary.to_pylist()]
    return pa.array(values, pa.string()).take(encoded.indices)


def _find(columns: list[str], candidates: list[tuple[str, ...]]) -> str | None:
    by_tokens = {_tokens(c): c for c in columns}
    for wanted in candidates:
        if wanted in by_tokens:
            return by_tokens[wanted]
    return None


def map_columns(columns: list[str], wanted: list[str]) -> ColumnMap:
    """Find each wanted column; ``uuid`` may come from ``ride_id``, ``acc_x`` from ``a_x``..."""
    result = ColumnMap()
    for name in wanted:
        side, _, base = name.partition("_") if name.split("_")[0] in SIDES else ("", "", name)
        bases = [base] + (["ride_id"] if base == "uuid" else [])
        theirs = None
        for candidate_base in bases:
            base_tokens = _tokens(candidate_base)
            if side:
                forms = [(alias, *base_tokens) for alias in SIDES[side]] + [(*base_tokens, alias) for alias in SIDES[side]]
            elif candidate_base == "mean_speed":
                forms = [_tokens(n) for n in MEAN_NAMES]
            else:
                forms = [base_tokens]
            theirs = _find(columns, forms)
            if theirs:
                if candidate_base == "ride_id" and base == "uuid":
                    result.via_ride_id.add(name)
                break
        if theirs is None:
            result.missing.append(name)
            continue
        result.found[name] = theirs
        if theirs != name:
            result.notes.append(_side_form(theirs, side, base) if side and name not in result.via_ride_id else f"read `{theirs}` as `{name}`")
    result.notes = list(dict.fromkeys(result.notes))
    return result


def _side_form(theirs: str, side: str, base: str) -> str:
    """One note per side naming scheme: "read `a_*` as `acc_*`", not one per column."""
    if theirs.lower().endswith(base.lower()) and len(theirs) > len(base):
        return f"read `{theirs[: len(theirs) - len(base)]}*` as `{side}_*`"
    if theirs.lower().startswith(base.lower()) and len(theirs) > len(base):
        return f"read `*{theirs[len(base):]}` as `{side}_*`"
    return f"read `{theirs}` as `{side}_{base}`"


def flatten_window(table: pa.Table) -> pa.Table:
    """A ``window`` struct column becomes ``window_start`` and ``window_end``."""
    columns = {}
    for name in table.column_names:
        column = table[name]
        names = {column.type.field(i).name for i in range(column.type.num_fields)} if pa.types.is_struct(column.type) else set()
        if {"start", "end"} <= names:
            flat = column.combine_chunks()
            columns[f"{name}_start"], columns[f"{name}_end"] = flat.field("start"), flat.field("end")
        else:
            columns[name] = column
    return pa.table(columns) if columns else table
