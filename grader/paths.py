"""Where the grader's files are, in each edition.

- A source checkout (instructors, CI, the Gradescope image): the project's folders beside the
  ``grader`` package: ``fixtures/``, ``starter/``, ``sample/``, the reference in ``solution/``,
  and, in a Gradescope package built with a hidden dataset, ``hidden/``.
- The student edition (``grader release-student``): a wheel whose ``grader/bundled/`` holds the
  fixtures, their goldens, the starter and the sample, and no reference solution at all.

Standard library only: the sandbox reads it to know what to hide.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
# The interpreter children run: the venv's own path (its site-packages), with no ".." left in it
# (``python`` run as ../venv/bin/python would otherwise be sought through folders a sandbox hides).
PYTHON = os.path.abspath(sys.executable)
BUNDLED = PACKAGE / "bundled"  # only in the student edition


def _is_file(path: Path) -> bool:
    """Whether ``path`` is a file this process may see (a sandboxed child may not: no error then)."""
    try:
        return path.is_file()
    except OSError:
        return False


def _checkout() -> Path | None:
    root = PACKAGE.parent
    if BUNDLED.is_dir() or not _is_file(root / "pyproject.toml"):
        return None
    return root


CHECKOUT = _checkout()  # None when installed from the student wheel
ROOT = CHECKOUT or BUNDLED  # where fixtures/, starter/ and sample/ are
BUNDLED_DATA = ROOT / "fixtures" / "data"
BUNDLED_EXPECTED = ROOT / "fixtures" / "expected"
STARTER = ROOT / "starter" / "assignment08"
SAMPLE = ROOT / "sample" / "assignment08"
HIDDEN = ROOT / "hidden"  # a Gradescope package's hidden dataset: data/ and expected/
_reference = CHECKOUT / "solution" / "assignment08" if CHECKOUT else None
REFERENCE = _reference if _reference and _is_file(_reference / "stream_queries.py") else None


class NoReference(RuntimeError):
    """This edition has no reference solution (the student edition, or a Gradescope image after setup)."""


def reference() -> Path:
    """The reference solution's folder; raises NoReference with the sentence to show."""
    if REFERENCE is None:
        raise NoReference("this installation has no reference solution (the student edition, or a Gradescope "
                          "image after setup): goldens can only be made from a checkout of the grader project")
    return REFERENCE


def cache_root() -> Path:
    """The goldens cache for datasets other than the bundled one (made from the reference)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dsc650-grader"


def pack_dir(data_hash: str) -> Path:
    """Where the cache keeps the pack (``grader.dataset.pack``) of the dataset of this content hash."""
    return cache_root() / "packed" / data_hash[:32]


def secrets() -> list[Path]:
    """What a child running student code must never read: expected outputs, the reference, the
    project's other files (tests hold correct variants), the goldens cache and the real HOME."""
    found = [BUNDLED_EXPECTED, HIDDEN, cache_root(), Path.home()]
    if CHECKOUT is not None:
        found += [entry for entry in CHECKOUT.iterdir() if entry.name != "grader"]
    return [path for path in dict.fromkeys(found) if os.path.lexists(path)]
