"""The reference solution's one job in grading: producing the expected outputs.

``regenerate`` runs the reference through exactly the replay a submission gets. ``expected_for``
finds the goldens for a dataset (and makes its pack, which gradings read its rows from): goldens
shipped beside it (the bundled fixtures; a Gradescope package's hidden dataset), else a cache
entry keyed by the dataset's content hash, made from the reference on first use (so only where
the reference is: a checkout, never the student edition).
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

import grader
from grader import paths
from grader.contract import KINDS, START
from grader.dataset import DatasetError, content_hash, list_steps, pack
from grader.engine import limits_for, run_submission
from grader.golden import Expected, GoldenError, expected_from, load_expected, reference_hash, write_expected
from grader.outputs import read_outputs
from grader.sandbox.isolation import Isolation
from grader.sandbox.run import Limits

# Datasets that carry their goldens: data folder -> goldens folder.
SHIPPED = {paths.BUNDLED_DATA: paths.BUNDLED_EXPECTED, paths.HIDDEN / "data": paths.HIDDEN / "expected"}


def regenerate(data_dir: Path, out_dir: Path, limits: Limits | None = None, isolation: Isolation | None = None) -> list[Path]:
    """Write the reference's outputs on ``data_dir`` as goldens into ``out_dir``."""
    reference = paths.reference()
    data_dir = Path(data_dir)
    manifest = {
        "data_sha256": content_hash(data_dir),
        "reference_sha256": reference_hash(reference),
        "start": START.isoformat(),
        "steps": [s.name for s in list_steps(data_dir)],
    }
    with run_submission(reference, data_dir, limits or limits_for(data_dir), isolation) as run:
        problems = [e["error"].get("message", "")[:500] for e in run.queries.errors]
        if run.feed.error or run.feed.crashed or problems or run.queries.crashed:
            raise GoldenError(
                "the reference solution failed on this dataset: "
                + (run.feed.crashed or run.queries.crashed or (run.feed.error or {}).get("message") or problems[0])
            )
        manifest["replay_steps"] = [seen.step for seen in run.queries.steps if not seen.flush]
        expected = expected_from(read_outputs(run.queries, run.data_dir), manifest)
    return write_expected(expected, out_dir)


def _cache_key(data_hash: str) -> str:
    key = f"{data_hash}:{reference_hash(paths.reference())}:{grader.__version__}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def shipped(data_dir: Path) -> Path | None:
    """The goldens folder shipped with ``data_dir``, if it is one of the datasets that carry theirs."""
    resolved = Path(data_dir).resolve()
    return next((expected for data, expected in SHIPPED.items() if data.resolve() == resolved), None)


def packed(data_dir: Path, data_hash: str) -> Path | None:
    """The dataset's pack in the cache (``grader.dataset.pack``), made now if absent: gradings take
    the data's rows from it. None where the cache cannot be written."""
    folder = paths.pack_dir(data_hash)
    try:
        if not all((folder / f"{kind}.arrow").is_file() for kind in KINDS):
            folder.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            pack(data_dir, folder)
    except (OSError, DatasetError):  # unreadable or unwritable (another user's cache), or a file that
        return None  # does not read: the gradings read the files, and say what is wrong with them
    return folder


def expected_for(data_dir: Path, limits: Limits | None = None) -> Expected:
    """Goldens for ``data_dir`` (and its pack made); raises GoldenError when shipped ones are stale
    or none can be made."""
    data_hash = content_hash(data_dir)
    packed(data_dir, data_hash)
    folder = shipped(data_dir)
    if folder is not None:
        expected = load_expected(folder)
        if expected.manifest.get("data_sha256") != data_hash:
            raise GoldenError(f"the goldens in {folder} do not match the data beside them: run `grader regenerate`")
        return expected
    try:
        folder = paths.cache_root() / _cache_key(data_hash)
    except paths.NoReference as error:
        raise GoldenError(f"no goldens for {data_dir}: {error}") from None
    try:
        made = (folder / "manifest.json").is_file()
        if not made:
            folder.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            scratch = Path(tempfile.mkdtemp(prefix="goldens-", dir=folder.parent))
    except OSError as error:
        raise GoldenError(f"the goldens cache {folder.parent} cannot be used by this user ({error.strerror}): "
                          "set XDG_CACHE_HOME to a folder of yours") from None
    if not made:
        try:
            regenerate(data_dir, scratch, limits)
            scratch.rename(folder)
        except OSError:
            pass  # another process made it first
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return load_expected(folder)
