"""The reference solution's one job in grading: producing the expected outputs.

``regenerate`` runs the reference through exactly the replay a submission gets, and
``expected_for`` finds the goldens for a dataset: the bundled ones for the bundled fixtures,
otherwise a cache entry keyed by the dataset's content hash (made on first use).
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

import grader
from grader.dataset import content_hash, list_steps
from grader.engine import START, limits_for, run_submission
from grader.golden import (
    Expected,
    GoldenError,
    cache_root,
    expected_from,
    load_expected,
    reference_hash,
    write_expected,
)
from grader.outputs import read_outputs, ride_to_uuid
from grader.sandbox import PROJECT, Limits

REFERENCE = PROJECT / "solution" / "assignment08"
BUNDLED_DATA = PROJECT / "fixtures" / "data"
BUNDLED_EXPECTED = PROJECT / "fixtures" / "expected"


def regenerate(data_dir: Path, out_dir: Path, limits: Limits | None = None) -> list[Path]:
    """Write the reference's outputs on ``data_dir`` as goldens into ``out_dir``."""
    data_dir = Path(data_dir)
    manifest = {
        "data_sha256": content_hash(data_dir),
        "reference_sha256": reference_hash(REFERENCE),
        "start": START.isoformat(),
        "steps": [s.name for s in list_steps(data_dir)],
    }
    with run_submission(REFERENCE, data_dir, limits or limits_for(data_dir)) as run:
        problems = [e["error"].get("message", "")[:500] for e in run.queries.errors]
        if run.feed.error or run.feed.crashed or problems or run.queries.crashed:
            raise GoldenError(
                "the reference solution failed on this dataset: "
                + (run.feed.crashed or run.queries.crashed or (run.feed.error or {}).get("message") or problems[0])
            )
        expected = expected_from(read_outputs(run.queries, ride_to_uuid(run.data_dir)), manifest)
    return write_expected(expected, out_dir)


def _cache_key(data_hash: str) -> str:
    key = f"{data_hash}:{reference_hash(REFERENCE)}:{grader.__version__}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def expected_for(data_dir: Path, limits: Limits | None = None) -> Expected:
    """Goldens for ``data_dir``; raises GoldenError when the bundled ones are stale."""
    data_hash = content_hash(data_dir)
    if Path(data_dir).resolve() == BUNDLED_DATA.resolve():
        expected = load_expected(BUNDLED_EXPECTED)
        if expected.manifest.get("data_sha256") != data_hash:
            raise GoldenError("fixtures/expected does not match fixtures/data: run `grader regenerate`")
        return expected
    folder = cache_root() / _cache_key(data_hash)
    if not (folder / "manifest.json").is_file():
        scratch = Path(tempfile.mkdtemp(prefix="goldens-", dir=_ensure(cache_root())))
        try:
            regenerate(data_dir, scratch, limits)
            scratch.rename(folder)
        except OSError:
            shutil.rmtree(scratch, ignore_errors=True)  # another process made it first
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return load_expected(folder)


def _ensure(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder
