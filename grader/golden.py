"""Expected outputs: what the reference solution produces under the grader's replay.

Goldens are JSON lines, one canonical row per line, lines sorted, so two runs (or two machines)
write the same bytes and an instructor can read a diff. ``manifest.json`` names the dataset by
content hash; a dataset other than the bundled one gets its goldens from the reference on first
use and keeps them in a cache folder under that hash.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from grader.outputs import Outputs, final_windows
from grader.tables import Row

FORMAT = 1
FILES = ("simple-accelerations", "simple-locations", "windowed-updates", "windowed-final", "joined")


class GoldenError(RuntimeError):
    """Goldens missing, stale or unreadable; the message says which command fixes it."""


@dataclass
class Expected:
    tables: dict[str, list[Row]]
    manifest: dict

    def __getitem__(self, name: str) -> list[Row]:
        return self.tables[name]


def _strip(rows: list[Row], keep: tuple[str, ...] = ()) -> list[Row]:
    return [{k: v for k, v in row.items() if k not in ("step", "index", "batch_id") or k in keep} for row in rows]


def expected_from(outputs: Outputs, manifest: dict) -> Expected:
    """Goldens from the reference's outputs (read by the same code as any submission's)."""
    sinks = [*outputs.simple.values(), outputs.windowed, outputs.joined]
    problems = [p for sink in sinks for p in sink.problems]
    if problems:
        raise GoldenError(f"the reference's outputs could not be read: {problems[0]}")
    tables = {name: _strip(rows.rows) for name, rows in outputs.simple.items()}
    tables["windowed-updates"] = _strip(outputs.windowed.rows, keep=("step", "index"))
    tables["windowed-final"] = final_windows(outputs.windowed.rows)
    tables["joined"] = _strip(outputs.joined.rows)
    return Expected(tables=tables, manifest=manifest)


def _line(row: Row) -> str:
    return json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def write_expected(expected: Expected, out_dir: Path) -> list[Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    manifest = dict(expected.manifest, format=FORMAT, rows={n: len(expected.tables[n]) for n in FILES})
    for name in FILES:
        path = out_dir / f"{name}.jsonl"
        path.write_text("".join(line + "\n" for line in sorted(map(_line, expected.tables[name]))), encoding="utf-8")
        written.append(path)
    path = out_dir / "manifest.json"
    path.write_text(json.dumps(manifest, sort_keys=True, indent=2) + "\n", encoding="utf-8")
    return [*written, path]


def load_expected(folder: Path) -> Expected:
    folder = Path(folder)
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        tables = {
            name: [json.loads(line) for line in (folder / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()]
            for name in FILES
        }
    except (OSError, ValueError) as error:
        raise GoldenError(f"goldens in {folder} are missing or unreadable ({error}): run `grader regenerate`") from None
    if manifest.get("format") != FORMAT:
        raise GoldenError(f"goldens in {folder} have format {manifest.get('format')}, this grader writes {FORMAT}: run `grader regenerate`")
    return Expected(tables=tables, manifest=manifest)


def reference_hash(reference: Path) -> str:
    digest = hashlib.sha256()
    for file in sorted(Path(reference).glob("*.py")):
        digest.update(file.name.encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()
