"""The student edition: one wheel students ``pip install`` into their own environment.

It holds the grader, the bundled fixtures and their goldens (the public practice set), the
starter and the sample, under ``grader/bundled/``, and never the reference solution: the project
installs no top-level package but ``grader``. Installed from it, ``pytest --submission PATH`` and
``grader grade PATH`` work from any folder, exactly as in a checkout, on the bundled fixtures.

The wheel is written here rather than by a build backend: it is a zip of known files with three
small metadata files (PEP 427), and writing it directly keeps it byte-for-byte reproducible
(fixed dates and modes, sorted entries) and free of anything a build would pick up on the way.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import grader
from grader import paths
from grader.gradescope import FILE_MODE, SCRIPT_MODE, zip_entry

DIST = "dsc650_assignment08_grader"
SKIP = ("__pycache__", ".pyc", ".pyo")
# Folders of the checkout the wheel carries, and where they go inside the package.
BUNDLE = {"fixtures": "grader/bundled/fixtures", "starter": "grader/bundled/starter", "sample": "grader/bundled/sample"}


def _tree(top: Path, prefix: str) -> Iterator[tuple[str, Path]]:
    for here, dirs, files in os.walk(top):
        dirs[:] = sorted(d for d in dirs if d not in SKIP and not d.startswith(".") and d != "bundled")
        for name in sorted(files):
            if not name.endswith(SKIP) and not name.startswith("."):
                path = Path(here) / name
                yield f"{prefix}/{path.relative_to(top).as_posix()}", path


def _metadata(project: Path) -> tuple[str, str]:
    """(METADATA, entry_points.txt) from pyproject.toml: the same dependencies and commands."""
    meta = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = ["Metadata-Version: 2.1", f"Name: {meta['name']}", f"Version: {meta['version']}",
             f"Summary: {meta['description']} (student edition: no reference solution)",
             f"Requires-Python: {meta['requires-python']}"]
    lines += [f"Requires-Dist: {dependency.split('#')[0].strip()}" for dependency in meta["dependencies"]]
    entries = ["[console_scripts]", *(f"{k} = {v}" for k, v in meta["scripts"].items()), ""]
    for group, points in meta.get("entry-points", {}).items():
        entries += [f"[{group}]", *(f"{k} = {v}" for k, v in points.items()), ""]
    return "\n".join(lines) + "\n", "\n".join(entries)


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def student_files(project: Path) -> dict[str, bytes]:
    """Every file the wheel installs (not its dist-info), by its path in site-packages."""
    files = {name: path.read_bytes() for name, path in _tree(project / "grader", "grader")}
    for folder, target in BUNDLE.items():
        if not (project / folder).is_dir():
            raise FileNotFoundError(f"{project / folder} is missing: the student edition needs it")
        files.update((name, path.read_bytes()) for name, path in _tree(project / folder, target))
    leaked = [name for name in files if name.startswith("solution/") or "/solution/" in name]
    if leaked:
        raise RuntimeError(f"the student edition would hold the reference solution: {leaked[0]}")
    return files


def build_student_wheel(out_dir: Path, project: Path | None = None) -> Path:
    """Write the student wheel into ``out_dir``; the same project gives the same bytes."""
    project = project or paths.CHECKOUT
    if project is None:
        raise paths.NoReference("the student edition is built from a checkout of the grader project")
    files = student_files(project)
    metadata, entry_points = _metadata(project)
    info = f"{DIST}-{grader.__version__}.dist-info"
    files[f"{info}/METADATA"] = metadata.encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: grader release-student\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    files[f"{info}/entry_points.txt"] = entry_points.encode()
    files[f"{info}/top_level.txt"] = b"grader\n"
    record = [_record_line(name, data) for name, data in sorted(files.items())] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as wheel:
        for name in sorted(files):
            wheel.writestr(zip_entry(name, SCRIPT_MODE if name.startswith("grader/scripts/") else FILE_MODE), files[name])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{DIST}-{grader.__version__}-py3-none-any.whl"
    path.write_bytes(buffer.getvalue())
    return path
