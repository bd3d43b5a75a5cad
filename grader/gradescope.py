"""Gradescope: the autograder zip it builds an image from, and the entry point it runs per submission.

Gradescope unzips the package into ``/autograder/source``, runs ``setup.sh`` there once as root
when it builds the image, then for each submission puts the upload in ``/autograder/submission``
and runs ``/autograder/run_autograder``, which must leave ``/autograder/results/results.json``
(https://gradescope-autograders.readthedocs.io/en/latest/specs/). ``run_autograder`` is a thin
shell script around ``python -m grader.gradescope run``, which grades exactly as ``grader grade``
does (same intake, same sandbox, same bundled goldens, same results.json) and writes a
results.json whatever happens, so a student never sees Gradescope's bare "autograder failed".
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
import traceback
import zipfile
from collections.abc import Iterator
from pathlib import Path

from grader.sandbox import PROJECT, Limits

# What the image needs to pip-install the project and grade on the bundled fixtures (README.md:
# pyproject names it as the readme). Not tests/, benchmarks/ or anything a run leaves behind.
PACKAGE_PARTS = ("pyproject.toml", "README.md", "grader", "solution", "fixtures", "starter")
SKIP_DIRS = frozenset({"__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache", ".ipynb_checkpoints",
                       ".venv", "venv", ".tox", "build", "dist", "out", "results", "spark-warehouse",
                       "metastore_db", "checkpoints"})
SKIP_FILES = frozenset({".DS_Store", "derby.log"})
SKIP_SUFFIXES = (".pyc", ".pyo", ".zip", ".egg-info")
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip can hold: no build time leaks into the bytes
SCRIPT_MODE, FILE_MODE = 0o755, 0o644

ROOT = Path("/autograder")  # Gradescope's layout; --root points elsewhere for tests
VENV = "/opt/dsc650-grader"  # where setup.sh installs the grader, outside the student-visible tree
PART_SECONDS = 240.0  # per part: both parts fit in Gradescope's default 10-minute run, with room to spare
FAILED = ("The autograder itself failed on this submission; it is not your fault. Your instructor has "
          "been shown the details; resubmit later or ask them.")

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu). It installs
# Java 17 (Spark 4 needs 17 or 21), a Python 3.11+, and this grader from the bundled source into
# {venv}. The install is editable so the grader finds its fixtures and goldens next to its code.
# It ends with a self-check, so a broken image fails here rather than on every submission; the
# check also builds the JVM class archive into {venv}/var, which each submission's JVM maps.
set -euxo pipefail
SOURCE="$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)"  # /autograder/source on Gradescope
VENV={venv}
export DEBIAN_FRONTEND=noninteractive

apt-get update
apt-get install -y --no-install-recommends openjdk-17-jre-headless ca-certificates

new_enough() {{ "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }}
PYTHON=""
for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null && new_enough "$candidate"; then
        PYTHON="$(command -v "$candidate")"
        break
    fi
done
if [ -z "$PYTHON" ]; then
    # Ubuntu 22.04 has python3.11 in universe; older releases need the deadsnakes PPA.
    if ! apt-get install -y --no-install-recommends python3.11 python3.11-venv; then
        apt-get install -y --no-install-recommends software-properties-common
        add-apt-repository -y ppa:deadsnakes/ppa
        apt-get update
        apt-get install -y --no-install-recommends python3.11 python3.11-venv
    fi
    PYTHON=/usr/bin/python3.11
fi
if ! "$PYTHON" -m venv "$VENV"; then  # Debian and Ubuntu ship venv's ensurepip separately
    VERSION="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    apt-get install -y --no-install-recommends "python$VERSION-venv"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --no-cache-dir --upgrade pip
"$VENV/bin/python" -m pip install --no-cache-dir -e "$SOURCE"

JAVA_HOME="$(find /usr/lib/jvm -maxdepth 1 -name 'java-17-openjdk-*' | sort | head -n 1)"
echo "export JAVA_HOME=$JAVA_HOME" > "$VENV/grader.env"
export JAVA_HOME
"$VENV/bin/python" -m grader.gradescope check
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission (working folder /autograder): grade
# /autograder/submission into /autograder/results/results.json. The Python entry point writes
# results.json whatever the submission does; the fallback below covers a Python that cannot start.
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
VENV="${{DSC650_GRADER_VENV:-{venv}}}"
[ -f "$VENV/grader.env" ] && . "$VENV/grader.env"
rm -f "$ROOT/results/results.json"
"$VENV/bin/python" -m grader.gradescope run --root "$ROOT"
status=$?
if [ ! -s "$ROOT/results/results.json" ]; then
    mkdir -p "$ROOT/results"
    cat > "$ROOT/results/results.json" <<'JSON'
{fallback}
JSON
fi
echo "grader.gradescope exit status: $status"
exit 0
"""


# ---------------------------------------------------------------------------------------------
# The package


def _project_files(project: Path, exclude: Path | None = None) -> Iterator[tuple[str, Path]]:
    """(name in the zip, file) for every file of PACKAGE_PARTS, clutter and run leftovers left out."""
    for part in PACKAGE_PARTS:
        top = project / part
        if top.is_file():
            yield part, top
            continue
        if not top.is_dir():
            raise FileNotFoundError(f"{top} is missing: the package needs {', '.join(PACKAGE_PARTS)}")
        for here, dirs, files in os.walk(top):
            dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info") and not d.startswith(".")]
            for name in files:
                path = Path(here) / name
                if name in SKIP_FILES or name.endswith(SKIP_SUFFIXES) or not path.is_file():
                    continue
                if exclude is not None and path.resolve() == exclude:
                    continue
                yield path.relative_to(project).as_posix(), path


def _fallback_json(max_score: float) -> str:
    """The results.json run_autograder writes when Python cannot even start."""
    return json.dumps({"score": 0.0, "max_score": max_score, "output": FAILED, "visibility": "visible",
                       "stdout_visibility": "hidden", "tests": []})


def _entry(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
    info.create_system = 3  # unix, so unzip honours the mode bits below
    info.external_attr = (0o100000 | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _check_goldens(project: Path) -> None:
    """Refuse to package goldens that do not belong to the bundled data: every student would lose points."""
    from grader.dataset import content_hash
    from grader.golden import GoldenError

    manifest_path = project / "fixtures" / "expected" / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise GoldenError(f"{manifest_path} is missing or unreadable ({error}): run `grader regenerate`") from None
    if manifest.get("data_sha256") != content_hash(project / "fixtures" / "data"):
        raise GoldenError("fixtures/expected does not match fixtures/data: run `grader regenerate` before packaging")


def build_package(out_zip: Path, project: Path = PROJECT) -> Path:
    """Write the Gradescope autograder zip for ``project`` to ``out_zip``; same project, same bytes.

    Entries are sorted, dated 1980-01-01 and given fixed modes (scripts 0755, the rest 0644), so
    the zip depends only on file contents and an instructor can tell whether a rebuild changed it.
    """
    from grader.checks import CHECK_IDS
    from grader.rubric import load_rubric

    project, out_zip = Path(project).resolve(), Path(out_zip)
    _check_goldens(project)
    rubric = load_rubric(project / "grader" / "rubric.toml", known=CHECK_IDS)
    scripts = {
        "setup.sh": SETUP_SH.format(venv=VENV),
        "run_autograder": RUN_AUTOGRADER.format(venv=VENV, fallback=_fallback_json(rubric.max_score)),
    }
    files = dict(_project_files(project, exclude=out_zip.resolve()))
    if clash := set(files) & set(scripts):
        raise ValueError(f"the project holds {', '.join(sorted(clash))}, which the package writes itself")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name in sorted([*files, *scripts]):
            if name in scripts:
                zf.writestr(_entry(name, SCRIPT_MODE), scripts[name].encode())
            else:
                zf.writestr(_entry(name, FILE_MODE), files[name].read_bytes())
    out_zip.parent.mkdir(parents=True, exist_ok=True)
    partial = out_zip.with_name(out_zip.name + ".partial")
    partial.write_bytes(buffer.getvalue())
    partial.replace(out_zip)
    return out_zip


# ---------------------------------------------------------------------------------------------
# The entry point run_autograder calls


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


def failure_report(detail: str, seconds: float) -> dict:
    """A results.json for a grader failure: score 0, every rubric check listed when the rubric loads."""
    report: dict = {"score": 0.0, "execution_time": round(seconds, 3), "output": FAILED, "visibility": "visible",
                    "stdout_visibility": "hidden", "tests": [], "extra_data": {"status": "error", "detail": detail}}
    try:
        from grader.checks import CHECK_IDS
        from grader.rubric import DEFAULT_RUBRIC, load_rubric

        rubric = load_rubric(DEFAULT_RUBRIC, known=CHECK_IDS)
    except Exception:  # the rubric may be what failed: the score alone still reaches the student
        return report
    report["max_score"] = rubric.max_score
    report["tests"] = [{"name": f"{item.part} {item.title}", "number": item.id, "score": 0.0,
                        "max_score": item.points, "status": "failed", "output": FAILED, "visibility": "visible"}
                       for item in rubric.items]  # fmt: skip
    return report


def write_results(report: dict, root: Path) -> Path:
    """Write results.json in one rename, so Gradescope never reads half a file."""
    results = root / "results"
    results.mkdir(parents=True, exist_ok=True)
    partial = results / "results.json.partial"
    partial.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    partial.replace(results / "results.json")
    return results / "results.json"


def run(root: Path = ROOT, part_seconds: float = PART_SECONDS) -> int:
    """Grade ``root/submission`` into ``root/results/results.json``; 0 when graded, 1 when the grader failed.

    A broken submission is graded (its reasons are in results.json) and returns 0; anything that
    stops the grader itself still leaves a results.json with score 0 and says so.
    """
    began = time.monotonic()
    try:
        from grader.batch import grade_path
        from grader.checks import CHECK_IDS
        from grader.engine import rejected
        from grader.intake import student_id
        from grader.java import require_java
        from grader.reference import BUNDLED_DATA, expected_for
        from grader.reports import results_json
        from grader.rubric import DEFAULT_RUBRIC, load_rubric

        require_java()
        rubric = load_rubric(DEFAULT_RUBRIC, known=CHECK_IDS)
        limits = Limits(part_seconds=part_seconds)
        expected = expected_for(BUNDLED_DATA, limits)
        target, refusal = pick_submission(root / "submission")
        who = submitters(root)
        name = student_id(who) if who else None
        if refusal:
            grade = rejected(name or "submission", target.name, refusal, rubric)
        else:
            grade = grade_path(target, BUNDLED_DATA, expected, rubric, limits, name=name)
        report = results_json(grade, rubric)
        code = 1 if grade.status == "error" else 0
        print(f"{grade.student}: {grade.score:g}/{grade.max_score:g} ({grade.status}) from {target}")
        for note in grade.notes:
            print(f"  note: {note}")
    except Exception as error:
        print(f"the autograder failed:\n{traceback.format_exc()}", file=sys.stderr)
        detail = "".join(traceback.format_exception_only(error)).strip()[:500]
        report, code = failure_report(detail, time.monotonic() - began), 1
    print(f"wrote {write_results(report, root)}")
    return code


def check() -> int:
    """The image's self-check (setup.sh's last step): Java, the rubric and the goldens all usable.
    It also builds the JVM class archive, once per image: every submission's JVM starts from it."""
    from grader import class_archive
    from grader.checks import CHECK_IDS
    from grader.java import JavaMissing, require_java
    from grader.reference import BUNDLED_DATA, expected_for
    from grader.rubric import DEFAULT_RUBRIC, load_rubric

    try:
        java = require_java()
    except JavaMissing as error:
        print(error, file=sys.stderr)
        return 1
    rubric = load_rubric(DEFAULT_RUBRIC, known=CHECK_IDS)
    expected = expected_for(BUNDLED_DATA)
    archive = class_archive.ensure(print)
    print(f"ok: Java {java}, rubric of {rubric.max_score:g} points, goldens {expected.manifest['data_sha256'][:12]}, "
          f"class archive {archive.name if archive else 'none (each grading about 4 s slower)'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.gradescope", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="grade ROOT/submission into ROOT/results/results.json")
    run_parser.add_argument("--root", type=Path, default=ROOT, help="Gradescope's folder (default: %(default)s)")
    run_parser.add_argument("--timeout", type=float, default=PART_SECONDS, help="seconds per part (default: %(default)s)")
    commands.add_parser("check", help="check that this machine can grade (Java, rubric, goldens)")
    package_parser = commands.add_parser("package", help="build the autograder zip")
    package_parser.add_argument("out_zip", type=Path)
    args = parser.parse_args(argv)
    if args.command == "run":
        return run(args.root, args.timeout)
    if args.command == "check":
        return check()
    print(f"wrote {build_package(args.out_zip)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
