"""Multiset comparison of Arrow tables, vectorised: no Python object per row.

The same verdict as ``grader.compare.rows`` (which the small windowed outputs keep), at the
original release's size (387k joined rows): every value becomes an integer code (one dictionary
per column over both sides, a null its own code), equal code rows pair up by count, and only the
rows left over are looked at again: those equal on every non-float column pair up when each float
is within the tolerance, then what is left pairs up by key as differing rows, and the rest is
missing or unexpected. Only the first few of each are turned into rows, to show the student.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from grader.compare.rows import PRECISION, RowDiff
from grader.tables import as_strings, rows_of

SAMPLES = 5  # rows of each kind of difference kept to show


def _dense(key: np.ndarray) -> np.ndarray:
    """Integer keys renumbered 0, 1, 2... (pandas' hash factorization: several times numpy's unique)."""
    import pandas as pd  # loaded at the first comparison, not with the checks (0.4 s before a grading starts)

    return pd.factorize(key)[0].astype(np.int64)


def row_ids(expected: pa.Table, got: pa.Table, columns: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """One id per distinct row of ``columns`` (the same row gets the same id on both sides): each
    value an integer code from one dictionary per column over both tables (-1 for null), the codes
    folded into one integer column by column, made dense again whenever it would overflow. No
    matrix of codes is kept: at 387k joined rows a side it was the judge's largest allocation."""
    key = np.zeros(len(expected) + len(got), dtype=np.int64)
    if not len(key):
        return key, key
    span = 1
    for column in columns:
        both = pa.chunked_array([*expected[column].chunks, *got[column].chunks], expected.schema.field(column).type)
        codes = np.asarray(pc.dictionary_encode(both).combine_chunks().indices.fill_null(-1), dtype=np.int64)
        width = int(codes.max(initial=-1)) + 2  # codes from -1 (null)
        if span * width >= 2**62:
            key = _dense(key)
            span = int(key.max(initial=0)) + 1
        key = key * width + (codes + 1)
        span *= width
    ids = _dense(key)
    return ids[: len(expected)], ids[len(expected) :]


def _without(positions: np.ndarray, taken: np.ndarray, count: int) -> np.ndarray:
    """``positions`` (sorted, below ``count``) less those in ``taken``: a mask, not a sort."""
    keep = np.zeros(count, dtype=bool)
    keep[positions] = True
    keep[taken] = False
    return np.flatnonzero(keep)


def _ranks(ids: np.ndarray, within: list[np.ndarray] | None = None) -> np.ndarray:
    """The position of each row among the rows with its id: in table order, or by ``within``'s
    values (nearest values then pair up, as a sorted merge would)."""
    if len(ids) == 0:
        return ids
    order = np.lexsort((*reversed(within), ids)) if within else np.argsort(ids, kind="stable")
    ordered = ids[order]
    starts = np.r_[True, ordered[1:] != ordered[:-1]]
    first = np.maximum.accumulate(np.where(starts, np.arange(len(ordered)), 0))
    ranks = np.empty(len(ids), dtype=np.int64)
    ranks[order] = np.arange(len(ordered)) - first
    return ranks


def _pair(left: np.ndarray, right: np.ndarray, within: tuple[list[np.ndarray], list[np.ndarray]] | None = None,
          ) -> tuple[np.ndarray, np.ndarray]:
    """Positions (in left, in right) of rows paired by equal id, the n-th with the n-th."""
    base = max(len(left), len(right)) + 1  # above every rank: (id, rank) -> one integer
    lrank = _ranks(left, within[0] if within else None)
    rrank = _ranks(right, within[1] if within else None)
    _, li, ri = np.intersect1d(left * base + lrank, right * base + rrank, assume_unique=True, return_indices=True)
    return li, ri


def _floats(table: pa.Table, columns: list[str]) -> list[np.ndarray]:
    """The float columns as numbers to sort by (null last)."""
    return [np.asarray(table[c].cast(pa.float64()).fill_null(np.inf).to_numpy(zero_copy_only=False), dtype=float)
            for c in columns]


def _close(expected: pa.Table, got: pa.Table, floats: list[str], precision: float) -> np.ndarray:
    """Row by row, whether every float column is within ``precision`` (nulls with nulls, NaN with NaN)."""
    ok = np.ones(len(expected), dtype=bool)
    for column in floats:
        a = np.asarray(expected[column].cast(pa.float64()).fill_null(np.inf).to_numpy(zero_copy_only=False), dtype=float)
        b = np.asarray(got[column].cast(pa.float64()).fill_null(np.inf).to_numpy(zero_copy_only=False), dtype=float)
        a_null = np.asarray(expected[column].is_null().to_numpy(zero_copy_only=False))
        b_null = np.asarray(got[column].is_null().to_numpy(zero_copy_only=False))
        with np.errstate(invalid="ignore"):
            near = np.abs(a - b) <= precision
        ok &= np.where(a_null | b_null, a_null & b_null, near | (np.isnan(a) & np.isnan(b)))
    return ok


def _sample(table: pa.Table, positions: np.ndarray, key: list[str]) -> tuple[list[dict], np.ndarray]:
    """The first rows at ``positions`` in key order, as plain rows, and that order."""
    if len(positions) == 0:
        return [], positions
    picked = table.take(pa.array(positions))
    order = pc.sort_indices(picked, sort_keys=[(k, "ascending") for k in key]).to_numpy()
    return rows_of(picked.take(pa.array(order[:SAMPLES]))), positions[order]


def _aligned(expected: pa.Table, got: pa.Table) -> tuple[pa.Table, pa.Table]:
    """``got`` in ``expected``'s types; a column that cannot be cast is compared as strings on both sides."""
    want, have = {}, {}
    for name in expected.column_names:
        try:
            want[name], have[name] = expected[name], got[name].cast(expected.schema.field(name).type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            want[name], have[name] = as_strings(expected[name]), as_strings(got[name])
    return pa.table(want), pa.table(have)


Mask = pa.Array | pa.ChunkedArray | None


def _positions(mask: Mask, count: int) -> np.ndarray:
    if mask is None:
        return np.arange(count)
    return np.flatnonzero(np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool))


def table_ids(expected: pa.Table, got: pa.Table, columns: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """``compare_tables``' row ids of both tables, for comparisons of the same tables that differ
    only in ``where`` to share (the joined sinks: most of a comparison's time at 387k rows a side)."""
    return row_ids(*_aligned(expected.select(columns), got.select(columns)), columns)


def compare_tables(expected: pa.Table, got: pa.Table, key: list[str], columns: list[str],
                   precision: float = PRECISION, where: tuple[Mask, Mask] = (None, None),
                   ids: tuple[np.ndarray, np.ndarray] | None = None) -> RowDiff:
    """Compare on ``columns`` as multisets; pair leftover rows sharing the values of ``key``.
    ``where``: boolean masks of the rows of each table to compare (filtered tables would be
    copies: the joined sinks are compared twice, their pairs and their rows without a partner);
    ``ids``: ``table_ids`` of the same tables and columns, if already known.

    ``got`` must hold ``columns`` in types that cast to ``expected``'s (the types were checked first).
    """
    expected, got = _aligned(expected.select(columns), got.select(columns))
    want_left, have_left = _positions(where[0], len(expected)), _positions(where[1], len(got))
    diff = RowDiff(expected=len(want_left), got=len(have_left))
    floats = [c for c in columns if pa.types.is_floating(expected.schema.field(c).type)]
    exact = [c for c in columns if c not in floats]
    want_ids, have_ids = ids if ids is not None else row_ids(expected, got, columns)
    wi, hi = _pair(want_ids[want_left], have_ids[have_left])
    diff.matched = len(wi)
    want_left = _without(want_left, want_left[wi], len(expected))
    have_left = _without(have_left, have_left[hi], len(got))
    # Equal on every exact column: paired when each float is within the tolerance.
    if floats and len(want_left) and len(have_left):
        want_rest, have_rest = expected.take(pa.array(want_left)), got.take(pa.array(have_left))
        we, he = row_ids(want_rest, have_rest, exact)
        by = (_floats(want_rest, floats), _floats(have_rest, floats))
        wp, hp = _pair(we, he, by)
        close = _close(expected.take(pa.array(want_left[wp])), got.take(pa.array(have_left[hp])), floats, precision)
        diff.matched += int(close.sum())
        want_left = _without(want_left, want_left[wp[close]], len(expected))
        have_left = _without(have_left, have_left[hp[close]], len(got))
    # What is left: paired by key as differing rows; the rest is missing or unexpected.
    wk, hk = row_ids(expected.take(pa.array(want_left, pa.int64())), got.take(pa.array(have_left, pa.int64())), key)
    wp, hp = _pair(wk, hk)
    diff.differing_count = len(wp)
    if len(wp):
        want_rows, order = _sample(expected, want_left[wp], key)
        partner = dict(zip(want_left[wp].tolist(), have_left[hp].tolist()))
        have_rows = rows_of(got.take(pa.array([partner[p] for p in order[:SAMPLES].tolist()])))
        diff.differing = list(zip(want_rows, have_rows))
    missing = _without(want_left, want_left[wp], len(expected))
    unexpected = _without(have_left, have_left[hp], len(got))
    diff.missing_count, diff.unexpected_count = len(missing), len(unexpected)
    diff.missing = _sample(expected, missing, key)[0]
    diff.unexpected = _sample(got, unexpected, key)[0]
    return diff
