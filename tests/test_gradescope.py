"""The Gradescope autograder: the zip Gradescope builds its image from, and the per-submission run.

The grading tests unzip the package into a temporary folder laid out like /autograder and run
the command run_autograder runs, with the unzipped source first on the path: they prove the
package alone can grade. setup.sh needs apt and root on Ubuntu, so it is only syntax-checked.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
import zipfile
from pathlib import Path

import pytest

from grader import gradescope
from grader.fixtures import generate
from grader.gradescope import PACKAGE_PARTS, build_package, pick_submission
from grader.paths import REFERENCE
from grader.rubric import DEFAULT_RUBRIC, load_rubric
from grader.sandbox.isolation import reachable
from tests.conftest import PROJECT

RUBRIC = load_rubric(DEFAULT_RUBRIC)
TEST_FIELDS = {"name", "score", "max_score", "status", "output", "visibility"}


def modes(zf: zipfile.ZipFile) -> dict[str, int]:
    return {info.filename: stat.S_IMODE(info.external_attr >> 16) for info in zf.infolist()}


def project_copy(dest: Path) -> Path:
    """The package's parts copied out of the project, so a test may dirty them."""
    dest.mkdir()
    for part in PACKAGE_PARTS:
        source = PROJECT / part
        if source.is_dir():
            shutil.copytree(source, dest / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, dest / part)
    return dest


def unpack(package: Path, root: Path) -> Path:
    """Lay out ``root`` as Gradescope does: source/ (the package, modes kept), submission/, results/."""
    with zipfile.ZipFile(package) as zf:
        zf.extractall(root / "source")
        for name, mode in modes(zf).items():
            os.chmod(root / "source" / name, mode)
    (root / "submission").mkdir()
    (root / "results").mkdir()
    return root


def validate(report: dict, practice: bool = False) -> None:
    """The fields Gradescope reads, with consistent totals (practice tests carry no points)."""
    assert isinstance(report["score"], float) and isinstance(report["execution_time"], float)
    assert report["max_score"] == RUBRIC.max_score and report["visibility"] == "visible"
    assert len(report["tests"]) == len(RUBRIC.items) * (2 if practice else 1)
    counted = [t for t in report["tests"] if "score" in t]
    assert len(counted) == len(RUBRIC.items)
    for test in report["tests"]:
        assert set(test) >= TEST_FIELDS - ({"score", "max_score"} if test not in counted else set())
        assert test["status"] in {"passed", "failed"} and test["output"]
    assert report["score"] == sum(t["score"] for t in counted)


# --- the package -----------------------------------------------------------------------------


def test_package_has_the_scripts_at_the_root_and_the_project_inside(tmp_path: Path) -> None:
    package = build_package(tmp_path / "autograder.zip")
    with zipfile.ZipFile(package) as zf:
        names, mode = zf.namelist(), modes(zf)
        assert zf.testzip() is None
    assert names == sorted(names)
    assert mode["setup.sh"] == mode["run_autograder"] == 0o755
    assert {m for n, m in mode.items() if n not in ("setup.sh", "run_autograder")} == {0o644}
    assert "fallback-results.json" in names and not [n for n in names if n.startswith("hidden/")]
    for name in ("pyproject.toml", "README.md", "grader/__init__.py", "grader/gradescope.py", "grader/rubric.toml",
                 "solution/assignment08/stream_data.py", "solution/assignment08/stream_queries.py",
                 "starter/assignment08/stream_queries.py", "fixtures/expected/manifest.json"):
        assert name in names, name
    data = sorted(p.relative_to(PROJECT).as_posix() for p in (PROJECT / "fixtures" / "data").rglob("*.parquet"))
    assert data and set(data) <= set(names)
    for name in names:
        assert name.split("/")[0] in {"setup.sh", "run_autograder", "fallback-results.json", *PACKAGE_PARTS}, name
        assert "__pycache__" not in name and not name.endswith(".pyc"), name


def test_package_leaves_out_tests_caches_and_run_leftovers(tmp_path: Path) -> None:
    project = project_copy(tmp_path / "project")
    (project / "tests").mkdir()
    (project / "tests" / "test_x.py").write_text("x = 1\n")
    litter = ["grader/__pycache__/cli.cpython-311.pyc", "grader/.DS_Store", "solution/assignment08/results/out.parquet",
              "starter/assignment08/.ipynb_checkpoints/x.py", "grader/old.zip", "solution/spark-warehouse/t/part-0"]
    for name in litter:
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_bytes(b"litter")
    package = build_package(project / "grader" / "autograder.zip", project)  # written inside: must not include itself
    with zipfile.ZipFile(package) as zf:
        names = set(zf.namelist())
    assert not {n for n in names if n.startswith("tests/")}
    assert not names & {*litter, "grader/autograder.zip"}


def test_building_twice_gives_the_same_bytes_whatever_the_mtimes_and_modes(tmp_path: Path) -> None:
    project = project_copy(tmp_path / "project")
    first = build_package(tmp_path / "first.zip", project).read_bytes()
    for path in project.rglob("*"):
        if path.is_file():
            os.utime(path, (1_700_000_000, 1_700_000_000))
            path.chmod(0o600)
    second = build_package(tmp_path / "second.zip", project).read_bytes()
    assert first == second
    assert build_package(tmp_path / "third.zip").read_bytes() == first  # the project itself packages the same


def test_package_refuses_goldens_that_do_not_match_the_data(tmp_path: Path) -> None:
    from grader.golden import GoldenError

    project = project_copy(tmp_path / "project")
    manifest = project / "fixtures" / "expected" / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"data_sha256": "', '"data_sha256": "0'))
    with pytest.raises(GoldenError, match="grader regenerate"):
        build_package(tmp_path / "autograder.zip", project)


def test_scripts_are_valid_bash_and_call_the_one_cli(tmp_path: Path) -> None:
    with zipfile.ZipFile(build_package(tmp_path / "autograder.zip")) as zf:
        scripts = {name: zf.read(name).decode() for name in ("setup.sh", "run_autograder")}
        fallback = json.loads(zf.read("fallback-results.json"))
    for name, text in scripts.items():
        assert text == (PROJECT / "grader" / "scripts" / name).read_text(), f"{name} is packaged as it is in grader/scripts"
        assert text.startswith("#!/usr/bin/env bash\n") and "\r" not in text, name
        checked = subprocess.run(["bash", "-n", str(PROJECT / "grader" / "scripts" / name)], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
    setup = scripts["setup.sh"]
    assert "openjdk-17-jre-headless" in setup and 'pip install --no-cache-dir -e "$SOURCE"' in setup
    assert '"$VENV/bin/grader" gradescope setup --remove-reference' in setup
    assert '"$VENV/bin/grader" gradescope run --root "$ROOT"' in scripts["run_autograder"]
    assert fallback["max_score"] == RUBRIC.max_score and fallback["score"] == 0


def test_run_autograder_still_writes_results_when_python_cannot_start(tmp_path: Path) -> None:
    root = unpack(build_package(tmp_path / "autograder.zip"), tmp_path / "autograder")
    env = {"PATH": os.environ["PATH"], "AUTOGRADER_ROOT": str(root), "DSC650_GRADER_VENV": str(tmp_path / "no-venv")}
    done = subprocess.run([str(root / "source" / "run_autograder")], cwd=root, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    report = json.loads((root / "results" / "results.json").read_text())
    assert report["score"] == 0 and report["max_score"] == RUBRIC.max_score
    assert "autograder itself failed" in report["output"] and report["visibility"] == "visible"


def test_package_command_and_setup_on_the_unpacked_image(tmp_path: Path) -> None:
    """What setup.sh runs last, on the unpacked package: it checks the image, makes the goldens
    unreadable to other users and deletes the reference, which grading never needs."""
    done = subprocess.run([sys.executable, "-m", "grader", "package-gradescope", str(tmp_path / "autograder.zip")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "autograder.zip").read_bytes() == build_package(tmp_path / "again.zip").read_bytes()
    scratch = Path(tempfile.mkdtemp(prefix="dsc650-image-"))  # reachable by other users, as /autograder is
    scratch.chmod(0o755)
    root = unpack(tmp_path / "autograder.zip", scratch / "autograder")
    root.chmod(0o755)
    env = dict(os.environ, PYTHONPATH=str(root / "source"))
    done = subprocess.run([sys.executable, "-m", "grader", "gradescope", "setup", "--remove-reference", "--no-class-archive"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"rubric of {RUBRIC.max_score:g} points" in done.stdout
    assert not (root / "source" / "solution" / "assignment08").exists()
    assert reachable(root / "source" / "grader" / "runner.py"), "the children need the grader"
    for secret in ("fixtures/expected", "starter", "README.md"):  # unreachable to the sandbox users
        assert not reachable(root / "source" / secret), secret
    shutil.rmtree(scratch)


# --- what gets graded ------------------------------------------------------------------------


def test_pick_submission_prefers_the_files_then_the_one_zip(tmp_path: Path) -> None:
    unzipped = tmp_path / "unzipped"
    (unzipped / "assignment08").mkdir(parents=True)
    (unzipped / "assignment08" / "stream_queries.py").write_text("")
    assert pick_submission(unzipped) == (unzipped, None)

    kept = tmp_path / "kept"
    (kept / "__MACOSX").mkdir(parents=True)
    (kept / "__MACOSX" / "._assignment08_DoeJane.zip").write_bytes(b"fork")
    (kept / "assignment08_DoeJane.zip").write_bytes(b"PK")
    assert pick_submission(kept) == (kept / "assignment08_DoeJane.zip", None)

    (kept / "assignment08_DoeJane (1).zip").write_bytes(b"PK")
    target, reason = pick_submission(kept)
    assert target == kept and reason and "2 zip files" in reason and "upload one zip" in reason

    empty = tmp_path / "empty"
    empty.mkdir()
    assert pick_submission(empty) == (empty, None)  # the intake says what is missing


def test_submitters_from_gradescope_metadata(tmp_path: Path) -> None:
    assert gradescope.submitters(tmp_path) is None
    (tmp_path / "submission_metadata.json").write_text(json.dumps({"users": [{"name": "Jane Doe"}, {"name": "Bo Li"}]}))
    assert gradescope.submitters(tmp_path) == "Jane Doe Bo Li"
    (tmp_path / "submission_metadata.json").write_text("[]")
    assert gradescope.submitters(tmp_path) is None


def test_a_grader_failure_still_gives_a_results_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from grader import reference
    from grader.golden import GoldenError

    def broken(*_args: object, **_kwargs: object) -> None:
        raise GoldenError("fixtures/expected does not match fixtures/data")

    monkeypatch.setattr(reference, "expected_for", broken)
    monkeypatch.setattr("grader.java.require_java", lambda: 17)
    (tmp_path / "submission").mkdir()
    assert gradescope.run(tmp_path) == 1
    report = json.loads((tmp_path / "results" / "results.json").read_text())
    validate(report)
    assert report["score"] == 0 and "autograder itself failed" in report["output"]
    assert report["extra_data"]["status"] == "error" and "does not match" in report["extra_data"]["detail"]
    assert {t["status"] for t in report["tests"]} == {"failed"}


# --- grading, as Gradescope runs it ----------------------------------------------------------


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_package(tmp_path_factory.mktemp("package") / "autograder.zip")


def run_entry_point(root: Path) -> tuple[subprocess.CompletedProcess, dict]:
    """run_autograder's command, from /autograder, with the unzipped package as the grader."""
    env = dict(os.environ, PYTHONPATH=str(root / "source"))
    where = [sys.executable, "-c", "import grader.gradescope as g; print(g.__file__)"]
    found = subprocess.run(where, cwd=root, env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert Path(found) == root / "source" / "grader" / "gradescope.py"  # the package's grader runs, not the project's
    command = [sys.executable, "-m", "grader", "gradescope", "run", "--root", str(root)]
    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=900)
    return done, json.loads((root / "results" / "results.json").read_text())


@pytest.mark.spark
def test_the_reference_uploaded_as_loose_files_gets_full_marks(package: Path, tmp_path: Path) -> None:
    root = unpack(package, tmp_path / "autograder")
    for name in ("stream_data.py", "stream_queries.py"):
        shutil.copy(REFERENCE / name, root / "submission" / name)  # Gradescope unzipped the student's zip
    done, report = run_entry_point(root)
    assert done.returncode == 0, done.stdout + done.stderr
    validate(report)
    assert report["score"] == report["max_score"] == RUBRIC.max_score, report["output"]
    assert {t["status"] for t in report["tests"]} == {"passed"} and report["extra_data"]["status"] == "graded"


@pytest.mark.spark
def test_a_zip_with_a_syntax_error_is_graded_and_told_why(package: Path, tmp_path: Path) -> None:
    root = unpack(package, tmp_path / "autograder")
    broken = (REFERENCE / "stream_queries.py").read_text() + "\ndef start_queries(spark, results_dir:\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("assignment08/stream_data.py", (REFERENCE / "stream_data.py").read_bytes())
        zf.writestr("assignment08/stream_queries.py", broken)
    (root / "submission" / "assignment08_DoeJane.zip").write_bytes(buffer.getvalue())  # Gradescope kept the zip
    (root / "submission_metadata.json").write_text(json.dumps({"users": [{"name": "Jane Doe", "id": 1}]}))
    done, report = run_entry_point(root)
    assert done.returncode == 0, done.stdout + done.stderr
    validate(report)
    feed = [t for t in report["tests"] if t["name"].startswith("8.1 ")]
    queries = [t for t in report["tests"] if not t["name"].startswith("8.1 ")]
    assert {t["status"] for t in feed} == {"passed"} and {t["status"] for t in queries} == {"failed"}
    assert report["score"] == sum(t["max_score"] for t in feed) and report["score"] < report["max_score"]
    for test in queries:
        assert "stream_queries.py could not be imported: SyntaxError" in test["output"], test["output"]
    assert report["extra_data"]["student"] == "Jane_Doe" and report["extra_data"]["status"] == "graded"


@pytest.mark.spark
def test_a_package_with_a_hidden_dataset_grades_on_it_without_the_reference(tmp_path: Path) -> None:
    """The official score comes from the hidden dataset, whose goldens were made when packaging;
    the practice score (the bundled fixtures) stands beside it; the reference is not needed."""
    hidden = generate(tmp_path / "hidden", seed=3)
    package = build_package(tmp_path / "autograder.zip", hidden=hidden)
    with zipfile.ZipFile(package) as zf:
        names = zf.namelist()
    assert "hidden/expected/manifest.json" in names and any(n.startswith("hidden/data/locations/") for n in names)
    root = unpack(package, tmp_path / "autograder")
    shutil.rmtree(root / "source" / "solution")  # as setup.sh leaves the image
    broken = (REFERENCE / "stream_queries.py").read_text().replace('"full_outer"', '"inner"')  # 8.2c: no outer rows
    (root / "submission" / "stream_data.py").write_text((REFERENCE / "stream_data.py").read_text())
    (root / "submission" / "stream_queries.py").write_text(broken)
    done, report = run_entry_point(root)
    assert done.returncode == 0, done.stdout + done.stderr
    validate(report, practice=True)
    lost = RUBRIC.item("joined.unmatched").points
    assert report["score"] == RUBRIC.max_score - lost
    assert f"Official score, on a dataset you have not seen: {RUBRIC.max_score - lost:g} / {RUBRIC.max_score:g}" in report["output"]
    assert "Practice score, on the bundled fixtures" in report["output"] and report["extra_data"]["practice"]["score"] == RUBRIC.max_score - lost
    official = next(t for t in report["tests"] if t["number"] == "joined.unmatched" and "score" in t)
    practice = next(t for t in report["tests"] if t["number"] == "joined.unmatched" and "score" not in t)
    assert "expected rows of this dataset are not shown" in official["output"] and "missing:" not in official["output"]
    assert "missing: acceleration" in practice["output"], practice["output"]
    assert practice["name"].startswith("Practice, not counted: ")


# --- the example CI workflow -----------------------------------------------------------------


WORKFLOW = PROJECT / "ci" / "grade-submissions.yml"


def test_ci_workflow_grades_one_shard_per_matrix_job_then_merges() -> None:
    yaml = pytest.importorskip("yaml")
    workflow = yaml.safe_load(WORKFLOW.read_text())
    assert "workflow_dispatch" in workflow.get("on", workflow.get(True))  # PyYAML reads the key `on` as True
    grade_job, merge_job = workflow["jobs"]["grade"], workflow["jobs"]["merge"]
    shards = grade_job["strategy"]["matrix"]["shard"]
    assert shards == list(range(1, len(shards) + 1)) and merge_job["needs"] == "grade"
    steps = {step.get("name", ""): step for step in grade_job["steps"]}
    command = next(s for s in steps.values() if "grader grade" in s.get("run", ""))
    assert '--jobs 2 --shard "$SHARD"' in command["run"]
    assert command["run"].startswith('sudo env "PATH=$PATH" "JAVA_HOME=$JAVA_HOME" grader grade ')
    checkouts = [s for s in grade_job["steps"] if s.get("uses", "").startswith("actions/checkout@")]
    assert checkouts and all(s["with"]["persist-credentials"] is False for s in checkouts)
    assert command["env"]["SHARD"] == "${{ matrix.shard }}/${{ strategy.job-total }}"
    assert "pip install -e ./grader" in steps["Install the grader"]["run"]
    assert any(s.get("uses", "").startswith("actions/upload-artifact@") for s in grade_job["steps"])


def test_ci_workflow_merge_equals_one_unsharded_gradebook(tmp_path: Path) -> None:
    from grader.batch import shard
    from grader.reports import write_gradebook
    from grader.verdict import CheckResult, Grade

    text = WORKFLOW.read_text()
    assert '--jobs 2 --shard "$SHARD"' in text and "${{ matrix.shard }}/${{ strategy.job-total }}" in text
    body = text.split("python3 - <<'EOF'\n", 1)[1].split("\n          EOF\n", 1)[0]
    script = textwrap.dedent(body)  # the merge step's inline script, as the runner's bash hands it to Python

    def grade(student: str, n: int) -> Grade:
        checks = [CheckResult(id=i.id, part=i.part, title=i.title, score=i.points * (k % 2 or n % 3 == 0),
                              max_score=i.points, passed=bool(k % 2 or n % 3 == 0), summary=f"{i.id} of {student}")
                  for k, i in enumerate(RUBRIC.items)]  # fmt: skip
        return Grade(student=student, source=f"assignment08_{student}.zip", status="graded", checks=checks,
                     max_score=RUBRIC.max_score)

    paths = [Path(f"submissions/assignment08_{name}.zip") for name in ("Zed", "Abe", "Ng", "Li", "Ortiz", "Doe", "Kim")]
    grades = {path: grade(path.stem.split("_")[1], n) for n, path in enumerate(paths)}
    write_gradebook(list(grades.values()), RUBRIC, tmp_path / "unsharded.csv")
    for index in range(1, 4):
        (tmp_path / "shards" / f"reports-shard-{index}").mkdir(parents=True)
        part = [grades[p] for p in shard(paths, index, 3)]
        write_gradebook(part, RUBRIC, tmp_path / "shards" / f"reports-shard-{index}" / "gradebook.csv")
    env = dict(os.environ, GITHUB_STEP_SUMMARY=str(tmp_path / "summary.md"))
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "gradebook.csv").read_bytes() == (tmp_path / "unsharded.csv").read_bytes()
    assert "merged 7 submissions from 3 shards; grader errors: 0" in (tmp_path / "summary.md").read_text()
