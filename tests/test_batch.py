"""Batch plumbing that needs no Spark: shards, report folder names, CLI argument and dataset errors."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from grader.batch import report_names, shard


def test_shards_split_a_batch_without_overlap() -> None:
    paths = [Path(f"assignment08_S{n:02d}.zip") for n in range(10)]
    shards = [shard(paths, i, 3) for i in (1, 2, 3)]
    assert sorted(p for s in shards for p in s) == sorted(paths)
    assert [len(s) for s in shards] == [4, 3, 3]
    assert shard(list(reversed(paths)), 2, 3) == shards[1], "shards do not depend on the order given"


def test_two_submissions_of_one_student_get_two_report_folders() -> None:
    paths = [Path("b/assignment08_DoeJane.zip"), Path("a/assignment08_DoeJane.zip"), Path("a/assignment08_RoeRick.zip")]
    names = report_names(paths)
    assert names[Path("a/assignment08_DoeJane.zip")] == "DoeJane"
    assert names[Path("b/assignment08_DoeJane.zip")] == "DoeJane-2"
    assert names[Path("a/assignment08_RoeRick.zip")] == "RoeRick"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["grade", "no/such/file.zip", "--out", "x"], "does not exist"),
        (["grade", "nothing-matches-*.zip", "--out", "x"], "matches nothing"),
        (["grade", "solution/assignment08", "--out", "x", "--shard", "0/2"], "I must be between 1 and N"),
        (["grade", "solution/assignment08", "--out", "x", "--shard", "two"], "use I/N"),
        (["grade", "solution/assignment08", "--out", "x", "--seed", "1", "--data-dir", "fixtures/data"], "exclude each other"),
    ],
)
def test_cli_names_bad_arguments(args: list[str], message: str) -> None:
    done = subprocess.run([sys.executable, "-m", "grader", *args], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parent.parent, timeout=120)
    assert done.returncode == 2 and message in done.stderr


@pytest.mark.parametrize(
    ("args", "rubric", "message"),
    [
        (["--data-dir", "grader"], None, "Error: --data-dir grader: grader has no accelerations or locations folder"),
        (["--data-dir", "fixtures"], None, "Error: --data-dir fixtures: fixtures has no accelerations or locations folder"),
        ([], '[parts]\n"8.1" = "feed"\n[[check]]\nid = "feed.rows"\npart = "8.1"\npoints = "two"\ntitle = "rows"\n',
         "has points = 'two', not a number"),
        ([], "[parts\n", "cannot read rubric"),
    ],
)
def test_a_bad_dataset_or_rubric_is_one_line_and_exit_2(tmp_path: Path, args: list[str], rubric: str | None, message: str) -> None:
    if rubric is not None:
        (tmp_path / "rubric.toml").write_text(rubric)
        args = [*args, "--rubric", str(tmp_path / "rubric.toml")]
    project = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-m", "grader", "grade", "solution/assignment08", "--out", str(tmp_path / "out"), *args],
                          capture_output=True, text=True, cwd=project, timeout=120)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda path: path.write_bytes(b"not parquet"), " does not read as parquet"),
        (lambda path: pq.write_table(pa.table({"uuid": ["a"]}), path), " has no "),
        (lambda path: pq.write_table(_with_column(pq.read_table(path), "speed", "fast"), path),
         ": its columns do not cast to the locations schema"),
    ],
)
def test_a_data_file_that_is_not_the_layouts_is_named_not_a_traceback(tmp_path: Path, damage, message: str) -> None:
    """An instructor's damaged dataset stops the batch before any grading, naming the file."""
    project = Path(__file__).resolve().parent.parent
    data = tmp_path / "data"
    shutil.copytree(project / "fixtures" / "data", data)
    broken = sorted((data / "locations").glob("t=*/*.parquet"))[0]
    damage(broken)
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-m", "grader", "grade", "solution/assignment08", "--out", str(tmp_path / "out"),
                           "--data-dir", str(data), "--no-class-archive"],
                          capture_output=True, text=True, cwd=project, timeout=120, env=env)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and f"Error: {broken}{message}" in done.stderr, done.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def _with_column(table: pa.Table, name: str, value: str) -> pa.Table:
    """``table`` with column ``name`` replaced by strings: the kind's columns, not its types."""
    return table.set_column(table.column_names.index(name), name, pa.array([value] * table.num_rows))


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="playing another user needs root and setpriv")
def test_a_cache_this_user_cannot_read_is_named_not_a_traceback() -> None:
    """XDG_CACHE_HOME pointing at another user's cache (an instructor's, kept in a shared shell):
    the bundled fixtures still grade from their shipped goldens, and other data stops the batch
    with one line that names the folder."""
    from tests.machines import NOBODY, normal_user

    project = Path(__file__).resolve().parent.parent
    scratch = Path(tempfile.mkdtemp(prefix="dsc650-cache-"))  # not under pytest's 0700 folder: nobody must reach it
    try:
        theirs = scratch / "theirs" / "dsc650-grader" / "packed"
        theirs.mkdir(parents=True)
        (scratch / "theirs" / "dsc650-grader").chmod(0o700)  # root's own cache, as `packed()` makes it
        data = shutil.copytree(project / "fixtures" / "data", scratch / "data")
        for folder in (scratch, scratch / "theirs", *[p for p in data.rglob("*") if p.is_dir()], data):
            folder.chmod(0o755)
        home, out = scratch / "home", scratch / "out"
        for folder in (home, out):
            folder.mkdir()
            os.chown(folder, NOBODY, NOBODY)
        cache = f"XDG_CACHE_HOME={shlex.quote(str(scratch / 'theirs'))}"
        bundled = f"{cache} {shlex.quote(sys.executable)} -c 'from grader.paths import BUNDLED_DATA; " \
                  f"from grader.reference import expected_for; print(expected_for(BUNDLED_DATA).manifest[\"data_sha256\"][:8])'"
        other = f"{cache} {shlex.quote(sys.executable)} -m grader grade solution/assignment08 --out {out} --data-dir {data}"
        done = [subprocess.run(normal_user(command, home), capture_output=True, text=True, cwd=project, timeout=120)
                for command in (bundled, other)]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    assert done[0].returncode == 0 and len(done[0].stdout.strip()) == 8, done[0].stderr
    assert done[1].returncode == 2 and "Traceback" not in done[1].stderr, done[1].stderr
    assert f"the goldens cache {theirs.parent} cannot be used by this user (Permission denied)" in done[1].stderr, done[1].stderr
