"""Without Java, everything that needs Spark stops at once with one sentence saying what to install."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import PROJECT


def run_without_java(*args: str, cwd: Path = PROJECT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = str(Path(sys.executable).parent)  # the venv's scripts, no java
    return subprocess.run(args, capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


def test_help_works_without_java() -> None:
    done = run_without_java(sys.executable, "-m", "grader", "--help")
    assert done.returncode == 0 and "grade" in done.stdout


def test_grading_without_java_says_what_to_install(tmp_path: Path) -> None:
    done = run_without_java(sys.executable, "-m", "grader", "grade", "solution/assignment08", "--out", str(tmp_path))
    assert done.returncode == 3
    message = done.stderr.strip()
    assert message.startswith("Spark 4 needs Java 17 or 21") and "install" in message
    assert len(message.splitlines()) == 1 and "Traceback" not in done.stderr and "Py4J" not in done.stderr


def test_pytest_without_java_says_what_to_install(tmp_path: Path) -> None:
    done = run_without_java(sys.executable, "-m", "pytest", "--submission", "solution/assignment08", "-p", "no:cacheprovider")
    assert done.returncode == 3
    assert "Spark 4 needs Java 17 or 21" in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_java_home_without_java_is_named(tmp_path: Path) -> None:
    env_home = tmp_path / "jdk"
    env_home.mkdir()
    env = {**os.environ, "JAVA_HOME": str(env_home), "PATH": str(Path(sys.executable).parent)}
    done = subprocess.run([sys.executable, "-m", "grader", "regenerate", "--out", str(tmp_path / "x")],
                          capture_output=True, text=True, env=env, cwd=PROJECT, timeout=120)
    assert done.returncode == 3 and f"JAVA_HOME ({env_home}) has no bin/java" in done.stderr
