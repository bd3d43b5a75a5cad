"""Expected outputs: what the reference solution produces under the grader's replay.

Goldens are parquet files, one per output, rows sorted by every column, so two runs (or two
machines with the same pyarrow) write the same bytes; they hold the values in their own types
(timestamps as timestamps), which the judge compares column by column without a Python object
per row. ``manifest.json`` names the dataset by content hash, with the replay's schedule; a
dataset other than the bundled one gets its goldens from the reference on first use and keeps
them in a cache folder under that hash.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from grader.outputs import Outputs, SinkRows, final_windows
from grader.tables import Row, normal_table, rows_of

FORMAT = 2
FILES = ("simple-accelerations", "simple-locations", "windowed-updates", "windowed-final", "joined")


class GoldenError(RuntimeError):
    """Goldens missing, stale or unreadable; the message says which command fixes it."""


@dataclass
class Expected:
    tables: dict[str, pa.Table]
    manifest: dict
    _rows: dict[str, list[Row]] = field(default_factory=dict, repr=False)

    def __getitem__(self, name: str) -> pa.Table:
        return self.tables[name]

    def rows(self, name: str) -> list[Row]:
        """``name``'s rows as plain dicts (timestamps as ISO strings): for the small outputs only."""
        if name not in self._rows:
            self._rows[name] = rows_of(self.tables[name])
        return self._rows[name]


def _strip(rows: SinkRows, keep: tuple[str, ...] = ()) -> pa.Table:
    return rows.table.drop_columns([c for c in ("step", "index", "batch_id") if c not in keep and c in rows.table.column_names])


def _sorted(table: pa.Table) -> pa.Table:
    order = pc.sort_indices(table, sort_keys=[(c, "ascending") for c in table.column_names])
    return table.take(order)


def expected_from(outputs: Outputs, manifest: dict) -> Expected:
    """Goldens from the reference's outputs (read by the same code as any submission's)."""
    sinks = [*outputs.simple.values(), outputs.windowed, outputs.joined]
    problems = [p for sink in sinks for p in sink.problems]
    if problems:
        raise GoldenError(f"the reference's outputs could not be read: {problems[0]}")
    tables = {name: _strip(rows) for name, rows in outputs.simple.items()}
    tables["windowed-updates"] = _strip(outputs.windowed, keep=("step", "index"))
    final = final_windows(outputs.windowed.rows)
    windowed = tables["windowed-updates"]
    columns = [c for c in windowed.column_names if c not in ("step", "index")]
    order = {tuple(r[c] for c in columns): i for i, r in enumerate(outputs.windowed.rows)}
    picked = [order[tuple(r[c] for c in columns)] for r in final]  # each final window's row in the updates
    tables["windowed-final"] = windowed.select(columns).take(pa.array(picked, pa.int64()))
    tables["joined"] = _strip(outputs.joined)
    return Expected(tables={name: normal_table(t) for name, t in tables.items()}, manifest=manifest)


def write_expected(expected: Expected, out_dir: Path) -> list[Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    manifest = dict(expected.manifest, format=FORMAT, rows={n: expected.tables[n].num_rows for n in FILES})
    for name in FILES:
        path = out_dir / f"{name}.parquet"
        pq.write_table(_sorted(expected.tables[name]), path, compression="zstd")
        written.append(path)
    for stale in out_dir.glob("*.jsonl"):  # goldens of format 1
        stale.unlink()
    path = out_dir / "manifest.json"
    path.write_text(json.dumps(manifest, sort_keys=True, indent=2) + "\n", encoding="utf-8")
    return [*written, path]


def load_expected(folder: Path) -> Expected:
    folder = Path(folder)
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        if manifest.get("format") != FORMAT:
            raise GoldenError(f"goldens in {folder} have format {manifest.get('format')}, this grader writes {FORMAT}: run `grader regenerate`")
        tables = {name: pq.read_table(folder / f"{name}.parquet") for name in FILES}
    except (OSError, ValueError, pa.ArrowException) as error:
        raise GoldenError(f"goldens in {folder} are missing or unreadable ({error}): run `grader regenerate`") from None
    return Expected(tables=tables, manifest=manifest)


def reference_hash(reference: Path) -> str:
    digest = hashlib.sha256()
    for file in sorted(Path(reference).glob("*.py")):
        digest.update(file.name.encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()
