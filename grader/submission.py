"""Load a student's module from their folder, inside the sandboxed child only."""

from __future__ import annotations

import importlib.util
import sys
import traceback
from pathlib import Path
from types import ModuleType


def load_module(folder: Path, name: str) -> ModuleType:
    """Import ``folder/name.py`` as module ``name``, with ``folder`` first on sys.path."""
    path = Path(folder) / f"{name}.py"
    if not path.is_file():
        raise FileNotFoundError(f"{name}.py is missing from the submission")
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def describe_exception(error: BaseException, folder: Path | None = None, limit: int = 2000) -> dict:
    """A plain-data account of an exception: type, message, and the student's frames."""
    frames = traceback.extract_tb(error.__traceback__)
    mine = [f for f in frames if folder and str(f.filename).startswith(str(folder))]
    where = [f"{Path(f.filename).name}:{f.lineno} in {f.name}" for f in (mine or frames)[-3:]]
    if isinstance(error, SyntaxError) and error.filename:
        where = [f"{Path(error.filename).name}:{error.lineno}"]  # not importlib's frame
    return {"type": type(error).__name__, "message": str(error)[:limit], "where": where}
