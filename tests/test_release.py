"""The student edition: a wheel without the reference that grades from any folder, no checkout needed.

The wheel is installed into a fresh virtual environment that sees this project's dependencies
(pyspark, chispa...) through a .pth file, not the project itself: the grader it imports is the
wheel's, with the wheel's bundled fixtures and goldens.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.release import build_student_wheel
from grader.rubric import DEFAULT_RUBRIC, load_rubric

RUBRIC = load_rubric(DEFAULT_RUBRIC)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_student_wheel(tmp_path_factory.mktemp("wheel"))


def test_the_wheel_holds_no_reference_and_everything_a_student_needs(wheel: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        assert zf.testzip() is None
    assert not [n for n in names if "solution" in n or n.startswith(("tests/", "benchmarks/"))], "no reference, no tests"
    assert {n.split("/")[0] for n in names} == {"grader", wheel.name.split("-py3")[0] + ".dist-info"}, "nothing named solution"
    for name in ("grader/bundled/fixtures/expected/manifest.json", "grader/bundled/starter/assignment08/stream_data.py",
                 "grader/bundled/sample/assignment08/stream_queries.py", "grader/rubric.toml", "grader/pytest_plugin.py"):
        assert name in names, name
    assert any(n.startswith("grader/bundled/fixtures/data/locations/t=") for n in names)
    assert build_student_wheel(tmp_path).read_bytes() == wheel.read_bytes(), "the same project gives the same bytes"


@pytest.fixture(scope="module")
def student_env(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed (its dependencies seen from this project's venv)."""
    venv = tmp_path_factory.mktemp("student") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    ours = next(Path(p) for p in sys.path if p.endswith("site-packages") and Path(p).is_dir())
    (site / "dependencies.pth").write_text(f"{ours}\n")
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--no-deps",
                           "--no-index", str(wheel)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return venv


def run(venv: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_ADDOPTS")}
    env["PATH"] = f"{venv / 'bin'}:{env.get('PATH', '')}"
    return subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


def test_the_installed_grader_is_the_wheels_without_a_reference(student_env: Path, tmp_path: Path) -> None:
    done = run(student_env, "python", "-c", "import grader, grader.paths as p; print(grader.__file__, p.CHECKOUT, p.REFERENCE)", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    where, checkout, reference = done.stdout.split()
    assert where.startswith(str(student_env)) and checkout == reference == "None", done.stdout
    done = run(student_env, "grader", "regenerate", "--out", str(tmp_path / "goldens"), cwd=tmp_path)
    assert done.returncode == 2 and "no reference solution" in done.stderr, done.stderr


@pytest.mark.spark
def test_pytest_submission_grades_the_starter_and_the_sample_from_any_folder(student_env: Path, tmp_path: Path) -> None:
    for flag, folder in (("", "starter"), ("--sample", "sample")):
        done = run(student_env, "grader", "starter", folder, *([flag] if flag else []), cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    outputs = {}
    python = os.path.relpath(student_env / "bin" / "python", tmp_path)  # "../..": as a student may type it
    for folder in ("starter", "sample"):
        done = run(student_env, python, "-m", "pytest", "--submission", f"{folder}/assignment08", "-p", "no:cacheprovider",
                   "-q", "--rootdir", str(tmp_path), cwd=tmp_path)
        assert "Assignment 8 score: assignment08" in done.stdout, done.stdout[-3000:] + done.stderr[-2000:]
        outputs[folder] = done.stdout
    total = {folder: re.search(r"^\s+total\s+(\S+) / (\S+)$", text, re.M) for folder, text in outputs.items()}
    assert total["starter"] and total["starter"].groups() == ("0", f"{RUBRIC.max_score:g}"), outputs["starter"][-2000:]
    assert "NotImplementedError at stream_data.py line" in outputs["starter"]
    assert total["sample"] and total["sample"].group(1) == "4", outputs["sample"][-2000:]
    assert re.search(r"8\.2a simple file sink\s+4 / 4", outputs["sample"])
    assert "none of them writes to results/output/windowed" in outputs["sample"]
