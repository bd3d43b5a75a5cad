"""Gradescope: the autograder zip it builds an image from, and the grading it runs per submission.

Gradescope unzips the package into ``/autograder/source``, runs ``setup.sh`` there once as root
when it builds the image, then for each submission puts the upload in ``/autograder/submission``
and runs ``/autograder/run_autograder``, which must leave ``/autograder/results/results.json``
(https://gradescope-autograders.readthedocs.io/en/latest/specs/). Both scripts are files in
``grader/scripts/``; they call ``grader gradescope setup`` and ``grader gradescope run``.

A package built with a hidden dataset grades every submission twice: on the bundled fixtures
(the practice set students run themselves, full feedback, not counted) and on the hidden dataset
(the official score; its feedback never shows expected rows unless the rubric says so). The
hidden dataset's goldens are made when packaging, on the instructor's machine; the reference
solution goes into the zip only so that ``setup.sh`` can build the JVM class archive from it,
and ``setup`` then deletes it from the image: grading never needs it.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from grader import paths

# What the image needs to pip-install the project and grade (README.md: pyproject names it as the readme).
PACKAGE_PARTS = ("pyproject.toml", "README.md", "grader", "solution", "fixtures", "starter", "sample")
SCRIPTS = ("setup.sh", "run_autograder")
SKIP_DIRS = frozenset({"__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache", ".ipynb_checkpoints",
                       ".venv", "venv", ".tox", "build", "dist", "out", "results", "spark-warehouse",
                       "metastore_db", "checkpoints", "bundled"})
SKIP_FILES = frozenset({".DS_Store", "derby.log"})
SKIP_SUFFIXES = (".pyc", ".pyo", ".zip", ".egg-info")
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip can hold: no build time leaks into the bytes
SCRIPT_MODE, FILE_MODE = 0o755, 0o644

ROOT = Path("/autograder")  # Gradescope's layout; --root points elsewhere for tests
# Per part, so that both gradings (practice, then hidden) fit Gradescope's default 10-minute run
# even when every part runs into its limit (the two parts of a grading run at once): the hidden
# set gets what its size needs (engine.limits_for), at most HIDDEN_SECONDS.
PRACTICE_SECONDS = 120.0
HIDDEN_SECONDS = 420.0
FAILED = ("The autograder itself failed on this submission; it is not your fault. Your instructor has "
          "been shown the details; resubmit later or ask them.")


# ---------------------------------------------------------------------------------------------
# The package


def _files(top: Path, name: str) -> Iterator[tuple[str, Path]]:
    """(name in the zip, file) under ``top``, clutter and run leftovers left out."""
    if top.is_file():
        yield name, top
        return
    for here, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info") and not d.startswith(".")]
        for file in files:
            path = Path(here) / file
            if file not in SKIP_FILES and not file.endswith(SKIP_SUFFIXES) and path.is_file():
                yield f"{name}/{path.relative_to(top).as_posix()}", path


def zip_entry(name: str, mode: int) -> zipfile.ZipInfo:
    """A zip entry that depends on nothing but ``name`` and ``mode`` (no date, no owner): the
    Gradescope package and the student wheel are the same bytes for the same files."""
    info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
    info.create_system = 3  # unix, so unzip honours the mode bits below
    info.external_attr = (0o100000 | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _check_goldens(data: Path, expected: Path) -> None:
    """Refuse to package goldens that do not belong to their data: every student would lose points."""
    from grader.dataset import content_hash
    from grader.golden import GoldenError, load_expected

    if load_expected(expected).manifest.get("data_sha256") != content_hash(data):
        raise GoldenError(f"{expected} does not match {data}: run `grader regenerate` before packaging")


def build_package(out_zip: Path, project: Path | None = None, hidden: Path | None = None) -> Path:
    """Write the Gradescope autograder zip for ``project`` (this checkout) to ``out_zip``; with
    ``hidden``, a dataset graded for the official score, whose goldens are made here from the
    reference. Entries are sorted, dated 1980-01-01 and given fixed modes (scripts 0755, the rest
    0644): the same inputs give the same bytes, so an instructor can tell whether a rebuild changed it."""
    from grader.checks.registry import CHECK_IDS
    from grader.reference import regenerate
    from grader.rubric import load_rubric

    if project is None:
        if paths.CHECKOUT is None:
            raise paths.NoReference("packaging needs a checkout of the grader project (with the reference solution)")
        project = paths.CHECKOUT
    project, out_zip = Path(project).resolve(), Path(out_zip)
    _check_goldens(project / "fixtures" / "data", project / "fixtures" / "expected")
    rubric = load_rubric(project / "grader" / "rubric.toml", known=CHECK_IDS)
    files: dict[str, Path | bytes] = {}
    for part in PACKAGE_PARTS:
        if not (project / part).exists():
            raise FileNotFoundError(f"{project / part} is missing: the package needs {', '.join(PACKAGE_PARTS)}")
        files.update(_files(project / part, part))
    files = {name: path for name, path in files.items() if not (isinstance(path, Path) and path.resolve() == out_zip.resolve())}
    for script in SCRIPTS:
        files[script] = project / "grader" / "scripts" / script
    files["fallback-results.json"] = json.dumps(failure_report("", 0.0, rubric.max_score, rubric), indent=2).encode()
    with tempfile.TemporaryDirectory(prefix="dsc650-package-") as scratch:
        if hidden is not None:
            expected = Path(scratch) / "expected"
            regenerate(hidden, expected)
            files.update(_files(Path(hidden), "hidden/data"))
            files.update(_files(expected, "hidden/expected"))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
            for name in sorted(files):
                content = files[name]
                data = content if isinstance(content, bytes) else content.read_bytes()
                zf.writestr(zip_entry(name, SCRIPT_MODE if name in SCRIPTS else FILE_MODE), data)
    out_zip.parent.mkdir(parents=True, exist_ok=True)
    partial = out_zip.with_name(out_zip.name + ".partial")
    partial.write_bytes(buffer.getvalue())
    partial.replace(out_zip)
    return out_zip


# ---------------------------------------------------------------------------------------------
# Per submission


def pick_submission(folder: Path) -> tuple[Path, str | None]:
    """What to hand to the intake from Gradescope's submission folder, or a reason to refuse.

    Gradescope unzips an uploaded zip itself, or keeps it as it is, depending on how the student
    uploaded it: the folder is graded when it holds the contract's files at any depth, otherwise
    its one zip (the intake unwraps it safely); several zips are ambiguous.
    """
    from grader.intake import find_folder

    if not folder.is_dir() or find_folder(folder) is not None:
        return folder, None
    zips = []
    for here, dirs, files in os.walk(folder):  # does not follow symlinked folders
        dirs[:] = sorted(d for d in dirs if d != "__MACOSX" and not d.startswith("."))
        zips += [Path(here) / f for f in sorted(files) if f.lower().endswith(".zip") and not f.startswith("._")]
    if len(zips) == 1:
        return zips[0], None
    if len(zips) > 1:
        names = ", ".join(z.relative_to(folder).as_posix() for z in zips[:5])
        return folder, (f"The submission holds {len(zips)} zip files ({names}) and no stream_data.py or "
                        "stream_queries.py; upload one zip, assignment08_LastnameFirstname.zip, holding "
                        "your assignment08 folder.")
    return folder, None


def submitters(root: Path) -> str | None:
    """The submitters' names from Gradescope's submission_metadata.json, when it is there."""
    try:
        meta = json.loads((root / "submission_metadata.json").read_text(encoding="utf-8"))
        names = [str(user["name"]) for user in meta.get("users", []) if user.get("name")]
    except (OSError, ValueError, TypeError, AttributeError, KeyError):
        return None
    return " ".join(names) or None


def failure_report(detail: str, seconds: float, max_score: float | None = None, rubric: object = None) -> dict:
    """A results.json for a grader failure: score 0, every rubric check listed when the rubric loads."""
    report: dict = {"score": 0.0, "execution_time": round(seconds, 3), "output": FAILED, "visibility": "visible",
                    "stdout_visibility": "hidden", "tests": [], "extra_data": {"status": "error", "detail": detail}}
    try:
        if rubric is None:
            from grader.checks.registry import CHECK_IDS
            from grader.rubric import DEFAULT_RUBRIC, load_rubric

            rubric = load_rubric(DEFAULT_RUBRIC, known=CHECK_IDS)
    except Exception:  # the rubric may be what failed: the score alone still reaches the student
        return report if max_score is None else {**report, "max_score": max_score}
    report["max_score"] = rubric.max_score  # type: ignore[attr-defined]
    report["tests"] = [{"name": f"{item.part} {item.title}", "number": item.id, "score": 0.0,
                        "max_score": item.points, "status": "failed", "output": FAILED, "visibility": "visible"}
                       for item in rubric.items]  # type: ignore[attr-defined]  # fmt: skip
    return report


def write_results(report: dict, root: Path) -> Path:
    """Write results.json in one rename, so Gradescope never reads half a file."""
    results = root / "results"
    results.mkdir(parents=True, exist_ok=True)
    partial = results / "results.json.partial"
    partial.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    partial.replace(results / "results.json")
    return results / "results.json"


def run(root: Path = ROOT, practice_seconds: float = PRACTICE_SECONDS, hidden_seconds: float = HIDDEN_SECONDS) -> int:
    """Grade ``root/submission`` into ``root/results/results.json``; 0 when graded, 1 when the grader failed.

    A broken submission is graded (its reasons are in results.json) and returns 0; anything that
    stops the grader itself still leaves a results.json with score 0 and says so.
    """
    began = time.monotonic()
    try:
        from grader.batch import Grading, grade_path
        from grader.checks.registry import CHECK_IDS
        from grader.engine import limits_for
        from grader.intake import student_id
        from grader.java import require_java
        from grader.reference import expected_for
        from grader.reports import gradescope_results
        from grader.rubric import DEFAULT_RUBRIC, load_rubric
        from grader.verdict import rejected

        require_java()
        rubric = load_rubric(DEFAULT_RUBRIC, known=CHECK_IDS)
        datasets = [(paths.BUNDLED_DATA, practice_seconds, False)]
        if (paths.HIDDEN / "data").is_dir():
            datasets.append((paths.HIDDEN / "data", hidden_seconds, True))
        target, refusal = pick_submission(root / "submission")
        who = submitters(root)
        name = student_id(who) if who else None
        grades = []
        for data_dir, most, hidden in datasets:
            expected = expected_for(data_dir)  # shipped with the package
            needed = limits_for(data_dir, expected=expected)
            limits = replace(needed, part_seconds=min(needed.part_seconds, most))
            if refusal:
                grade = rejected(name or "submission", target.name, refusal, rubric)
            else:
                redact = hidden and rubric.hidden_feedback == "summary"
                grade = grade_path(target, Grading(data_dir, expected, rubric, limits, redact=redact), name)
            grades.append(grade)
            print(f"{'hidden' if hidden else 'practice'}: {grade.student}: {grade.score:g}/{grade.max_score:g} "
                  f"({grade.status}, isolation {grade.isolation or 'none'}) from {target}")
            for note in grade.notes:
                print(f"  note: {note}")
        report = gradescope_results(grades[-1], rubric, practice=grades[0] if len(grades) > 1 else None)
        code = 1 if any(g.status == "error" for g in grades) else 0
    except Exception as error:
        print(f"the autograder failed:\n{traceback.format_exc()}", file=sys.stderr)
        detail = "".join(traceback.format_exception_only(error)).strip()[:500]
        report, code = failure_report(detail, time.monotonic() - began), 1
    print(f"wrote {write_results(report, root)}")
    return code


def setup(remove_reference: bool = False, build_archive: bool = True) -> int:
    """The image's preparation (setup.sh's last step): Java, the rubric and every dataset's goldens
    usable; the JVM class archive built; the sandbox's users made and the secrets out of their
    reach; the reference solution removed when asked (it was packaged only to build the archive)."""
    from grader.checks.registry import CHECK_IDS
    from grader.java import JavaMissing, require_java
    from grader.reference import SHIPPED, expected_for
    from grader.replay import class_archive
    from grader.rubric import DEFAULT_RUBRIC, load_rubric
    from grader.sandbox.isolation import choose, lock_down
    from grader.sandbox.users import ensure_users, slot

    try:
        java = require_java()
    except JavaMissing as error:
        print(error, file=sys.stderr)
        return 1
    rubric = load_rubric(DEFAULT_RUBRIC, known=CHECK_IDS)
    goldens = [expected_for(data).manifest["data_sha256"][:12] for data in SHIPPED if data.is_dir()]
    archive = class_archive.ensure(print) if build_archive else None
    if os.geteuid() == 0:
        ensure_users(slot(0))
        for path in lock_down(paths.secrets()):
            print(f"made unreadable to other users: {path}")
    if remove_reference and paths.REFERENCE is not None:
        shutil.rmtree(paths.REFERENCE.parent)
        print(f"removed the reference solution {paths.REFERENCE.parent}: grading does not need it")
    isolation = choose()
    print(f"ok: Java {java}, rubric of {rubric.max_score:g} points, goldens {', '.join(goldens)}, "
          f"class archive {archive.name if archive else 'none (each grading about 4 s slower)'}, "
          f"isolation {isolation.mode}" + (f" ({isolation.why})" if isolation.why else ""))
    return 0
