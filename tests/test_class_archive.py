"""The JVM class archive (grader/replay/class_archive.py): a grading child's JVM maps it, cannot write
it, and a stale one or none at all costs only time, never a word of feedback."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from grader.engine import run_submission
from grader.java import find_java
from grader.paths import BUNDLED_DATA, REFERENCE
from grader.replay import class_archive
from grader.sandbox.run import Limits

# Appended to the reference's stream_queries.py: runs in the queries child, after the session starts.
PROBE = '''

def _probe_class_archive():
    from pathlib import Path
    from pyspark.sql import SparkSession
    jvm = SparkSession.getActiveSession()._jvm.java.lang.ProcessHandle.current().pid()
    archive = Path({archive!r})
    try:
        with open(archive, "r+b"):
            writable = True
    except OSError:
        writable = False
    print("probe: mapped", str(archive) in Path(f"/proc/{{jvm}}/maps").read_text(), "writable", writable)


_probe_class_archive()
'''


@pytest.fixture(scope="module")
def archive(class_archive: Path | None) -> Path:
    if class_archive is None:
        pytest.fail("no class archive could be built on this machine (see the output above)")
    return class_archive


@pytest.mark.spark
def test_a_grading_childs_jvm_maps_the_archive_and_cannot_write_it(archive: Path, tmp_path: Path) -> None:
    submission = shutil.copytree(REFERENCE, tmp_path / "probe")
    with (submission / "stream_queries.py").open("a") as queries:
        queries.write(PROBE.format(archive=str(archive)))
    with run_submission(submission, BUNDLED_DATA, Limits(part_seconds=240)) as run:
        child = run.children[1]
        assert child.part == "queries" and child.returncode == 0, child.stderr[-2000:]
        assert "probe: mapped True" in child.stdout, child.stdout[-2000:]
        if child.confined:
            assert "writable False" in child.stdout, child.stdout[-2000:]
        assert "cds" not in child.stderr.lower() and "cds" not in child.stdout.lower()


@pytest.mark.spark
def test_a_jvm_that_cannot_use_the_archive_starts_without_a_word(archive: Path, tmp_path: Path) -> None:
    """A JVM whose classpath differs from the archive's (here: none) cannot map it: it warns on
    stdout unless CDS logging is off, which ``use_options`` turns off. A broken file likewise."""
    java = str(find_java())
    plain = subprocess.run([java, f"-XX:SharedArchiveFile={archive}", "-version"], capture_output=True, text=True)
    assert "Unable to use shared archive" in plain.stdout + plain.stderr  # the warning this test is about
    broken = tmp_path / "broken.jsa"
    broken.write_bytes(b"not an archive")
    for candidate in (archive, broken):
        quiet = subprocess.run([java, *class_archive.use_options(candidate).split(), "-version"],
                               capture_output=True, text=True)
        assert quiet.returncode == 0
        assert "archive" not in (quiet.stdout + quiet.stderr).lower(), quiet.stdout + quiet.stderr


def test_without_a_place_to_build_grading_goes_on_and_says_why(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file where the archive folder would go")
    monkeypatch.setattr(class_archive, "folder", lambda: blocked / "var")
    monkeypatch.setattr(class_archive, "_disabled", False)  # whatever this process was told before
    said: list[str] = []
    assert class_archive.ensure(said.append) is None
    assert len(said) == 1 and said[0].startswith("Grading without a JVM class archive"), said
    assert str(blocked / "var") in said[0]


def test_a_build_clears_what_an_interrupted_build_left_and_the_archive_it_replaces(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Only the lock's holder builds, so a dump file beside it is an interrupted build's: it would
    take disk in the virtual environment for ever. The build itself (a JVM) is stood in for."""
    monkeypatch.setattr(class_archive, "folder", lambda: tmp_path)
    monkeypatch.setattr(class_archive, "_disabled", False)
    monkeypatch.setattr(class_archive, "build", lambda target: target.write_bytes(b"archive"))
    left = [tmp_path / f".{class_archive.path().name}.4242", tmp_path / ".jvm-0ld.jsa.77", tmp_path / "jvm-0ld.jsa"]
    for stale in left:
        stale.write_bytes(b"half")
    keep = tmp_path / "notes.txt"
    keep.write_text("not the archive's")
    assert class_archive.ensure(lambda line: None) == class_archive.path()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([".lock", class_archive.path().name, "notes.txt"])


def test_a_new_java_or_pyspark_gets_a_new_archive(monkeypatch: pytest.MonkeyPatch) -> None:
    """The archive's name follows what it depends on, so an upgraded install never maps an old one."""
    import pyspark

    before = class_archive.path()
    class_archive._fingerprint.cache_clear()
    monkeypatch.setattr(pyspark, "__version__", pyspark.__version__ + ".post1")
    try:
        assert class_archive.path() != before
    finally:
        class_archive._fingerprint.cache_clear()
