"""``grader``: the one command line (click), for students, CI, instructors and Gradescope.

Exit status: 0 when every submission was graded (whatever the scores), 1 when the grader itself
failed on one, 2 for the user's mistakes (a bad option, a folder that is not a dataset, a broken
rubric: one line each), 3 when Java is missing.
"""

from __future__ import annotations

import glob
import shutil
import sys
import tempfile
from pathlib import Path

import click

from grader.java import JavaMissing, require_java
from grader.sandbox.isolation import MODES


class UserError(click.ClickException):
    """A mistake in what the user gave: one line, exit status 2."""

    exit_code = 2


def _need_java() -> None:
    try:
        require_java()
    except JavaMissing as error:
        click.echo(str(error), err=True)
        sys.exit(3)


def _expand(paths: tuple[str, ...]) -> list[Path]:
    found: list[Path] = []
    for pattern in paths:
        matches = sorted(glob.glob(pattern)) if any(c in pattern for c in "*?[") else [pattern]
        if not matches:
            raise click.BadParameter(f"{pattern} matches nothing", param_hint="PATH")
        for match in matches:
            path = Path(match)
            if not path.exists():
                raise click.BadParameter(f"{path} does not exist", param_hint="PATH")
            found.append(path)
    return list(dict.fromkeys(found))


def _parse_shard(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    try:
        index, count = (int(x) for x in value.split("/"))
    except ValueError:
        raise click.BadParameter("use I/N, e.g. 2/4") from None
    if not 1 <= index <= count:
        raise click.BadParameter(f"shard {value}: I must be between 1 and N")
    return index, count


def _dataset(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """A --data-dir must have the bdd layout: said in one line, before anything starts."""
    if value is None:
        return None
    from grader.dataset import DatasetError, list_steps

    try:
        list_steps(value)
    except DatasetError as error:
        raise UserError(f"--{param.name.replace('_', '-') if param.name else 'data-dir'} {value}: {error}") from None
    return value


def _rubric(path: Path | None):  # -> Rubric
    from grader.checks.registry import CHECK_IDS
    from grader.rubric import DEFAULT_RUBRIC, RubricError, load_rubric

    try:
        return load_rubric(path or DEFAULT_RUBRIC, known=CHECK_IDS)
    except RubricError as error:
        raise UserError(str(error)) from None


DATA_DIR = click.Path(file_okay=False, exists=True, path_type=Path)
SIZES = click.Choice(["small", "real", "original"])
LMS_KINDS = ["blackboard", "canvas", "moodle"]


def _downloads(paths: list[Path], lms: str, scratch: Path) -> tuple[list[Path], list, list[str], set[str]]:
    """The paths that are LMS downloads split into members (the rest stay ordinary uploads), the
    download's own notes (files of no student...), and the LMSs they came from."""
    from grader.intake import DOWNLOAD_LIMITS, Rejected
    from grader.lms.detect import detect, glob_of_one, split

    ordinary, members, notes, kinds = [], [], [], set()
    only: set[str] | None = None
    if lms != "none" and (glob := glob_of_one(paths)) and lms in ("auto", glob[1]):
        only, paths = {p.name for p in paths}, [glob[0]]  # a glob of an unzipped download: one download
    for n, path in enumerate(paths):
        kind = None if lms == "none" else (detect(path, only) if lms == "auto" else lms)
        if kind is None:
            ordinary.append(path)
            continue
        try:
            download = split(path, scratch / str(n), DOWNLOAD_LIMITS, kind, only)
        except Rejected as refusal:
            raise UserError(str(refusal)) from None
        click.echo(f"{path}: a {download.lms} download of {len(download.members)} student(s)", err=True)
        members += download.members
        notes += [f"{path.name}: {note}" for note in download.notes]
        kinds.add(kind)
    return ordinary, members, notes, kinds


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dsc650-assignment08-grader")
def main() -> None:
    """Grade DSC 650 Assignment 8 (Spark Structured Streaming) submissions."""


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True, help="Folder for the reports.")
@click.option("--jobs", type=click.IntRange(1, 16), default=1, show_default=True, help="Submissions graded at once.")
@click.option("--timeout", type=click.FloatRange(5, 3600), help="Seconds each part of a submission may run (default: from the dataset's replay steps and rows, times --jobs).")
@click.option("--data-dir", type=DATA_DIR, callback=_dataset, help="Grade on this dataset (bdd layout) instead of the bundled fixtures.")
@click.option("--seed", type=int, help="Grade on a fresh dataset generated from this seed.")
@click.option("--size", type=SIZES, default="small", show_default=True, help="With --seed: the bundled fixtures' size, the course's copy's, or the original release's.")
@click.option("--rubric", "rubric_path", type=click.Path(dir_okay=False, exists=True, path_type=Path), help="Rubric file (default: the bundled rubric.toml).")
@click.option("--shard", callback=_parse_shard, metavar="I/N", help="Grade only shard I of N (every N-th path in sorted order), to split a batch across machines.")
@click.option("--class-archive/--no-class-archive", default=True, show_default=True,
              help="Start each grading's JVM from a class archive, built once per install (about 40 s) and about 4 s faster per grading.")
@click.option("--isolation", type=click.Choice(["auto", *MODES]), default="auto", show_default=True,
              help="How student code is confined: auto takes the strongest this machine allows (README, \"Where the grader runs\").")
@click.option("--feedback", type=click.Choice(["full", "summary"]),
              help="Quote expected rows in feedback (full) or not (summary). Default: full on the bundled fixtures, the rubric's choice on other data.")
@click.option("--lms", type=click.Choice(["auto", *LMS_KINDS, "none"]), default="auto", show_default=True,
              help="Which LMS's bulk download a PATH is: auto tells it by its names; none grades each PATH as one upload.")
@click.option("--column", help="The grade file's score column, e.g. Blackboard's 'Assignment 8 [Total Pts: 26 Score] |123456' or Canvas's 'Assignment 8 (4321)'.")
def grade(paths: tuple[str, ...], out_dir: Path, jobs: int, timeout: float | None, data_dir: Path | None, seed: int | None,
          size: str, rubric_path: Path | None, shard: tuple[int, int] | None, class_archive: bool, isolation: str,
          feedback: str | None, lms: str, column: str | None) -> None:
    """Grade submissions (zips, folders or globs, or an LMS's bulk download) and write reports to --out."""
    if data_dir and seed is not None:
        raise click.UsageError("--data-dir and --seed exclude each other")
    with tempfile.TemporaryDirectory(prefix="dsc650-download-") as scratch:
        submissions, members, notes, kinds = _downloads(_expand(paths), lms, Path(scratch))
        _grade(submissions, members, notes, kinds, out_dir, jobs, timeout, data_dir, seed, size, rubric_path, shard,
               class_archive, isolation, feedback, column)


def _grade(submissions: list[Path], members: list, notes: list[str], kinds: set[str], out_dir: Path, jobs: int,
           timeout: float | None, data_dir: Path | None, seed: int | None, size: str, rubric_path: Path | None,
           shard: tuple[int, int] | None, class_archive: bool, isolation: str, feedback: str | None,
           column: str | None) -> None:
    if shard:
        from grader.batch import shard as take_shard

        submissions = take_shard(submissions, *shard)
        members = sorted(members, key=lambda m: m.student)[shard[0] - 1 :: shard[1]]
        click.echo(f"shard {shard[0]}/{shard[1]}: {len(submissions) + len(members)} submission(s)", err=True)
    rubric = _rubric(rubric_path)
    _need_java()
    from grader.batch import Grading, grade_batch
    from grader.dataset import DatasetError
    from grader.engine import limits_for
    from grader.fixtures import generate
    from grader.golden import GoldenError
    from grader.paths import BUNDLED_DATA
    from grader.progress import Progress
    from grader.reference import expected_for
    from grader.replay import class_archive as archive
    from grader.sandbox.isolation import choose
    from grader.sandbox.users import SandboxError

    try:
        confinement = choose(isolation)
    except SandboxError as error:
        raise UserError(str(error)) from None
    click.echo(f"isolation: {confinement.mode}: {confinement.description}"
               + (f" (stronger modes: {confinement.why})" if confinement.why else ""), err=True)
    if class_archive:
        archive.ensure(lambda line: click.echo(line, err=True))
    else:
        archive.disable()
    with tempfile.TemporaryDirectory(prefix="dsc650-data-") as scratch:
        if seed is not None:
            data_dir = generate(Path(scratch) / "data", seed, size)
        data_dir = data_dir or BUNDLED_DATA
        try:  # the goldens first: where they are at hand, they tell the time limit the dataset's size needs
            expected = expected_for(data_dir, limits_for(data_dir, timeout) if timeout else None)
            limits = limits_for(data_dir, timeout, jobs, expected)
        except (GoldenError, DatasetError) as error:
            raise UserError(str(error)) from None
        hidden = data_dir != BUNDLED_DATA
        redact = (feedback or (rubric.hidden_feedback if hidden else "full")) == "summary"
        grading = Grading(data_dir, expected, rubric, limits, confinement, redact)
        with Progress(len(submissions) + len(members)) as progress:
            result = grade_batch(submissions, out_dir, grading, jobs=jobs, on_done=progress.done, members=members)
        progress.summary(result.grades, rubric, out_dir)
    if notes:
        (out_dir / "download-notes.txt").write_text("".join(f"{note}\n" for note in notes), encoding="utf-8")
        for note in notes:
            click.echo(f"note: {note}", err=True)
    if len(kinds) == 1 and not submissions:
        _export(out_dir / "gradebook.csv", kinds.pop(), rubric, column)
    elif kinds:
        click.echo("no LMS grade file: the gradebook mixes LMS downloads with other uploads (or several LMSs); "
                   "write one with `grader lms-export --lms ...`", err=True)
    sys.exit(1 if result.grader_errors else 0)


def _export(gradebook: Path, kind: str, rubric, column: str | None, out: Path | None = None) -> None:  # rubric: Rubric
    from grader.lms.export import ExportError, export

    try:
        written, warnings = export(gradebook, kind, rubric, column, out)
    except ExportError as error:
        raise UserError(str(error)) from None
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"wrote {written}: import it in {kind.capitalize()} (README, \"From an LMS's download to its import\")", err=True)


@main.command("lms-export")
@click.argument("gradebook", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--lms", "kind", type=click.Choice(LMS_KINDS), help="The LMS to write for (default: the one the gradebook's students came from).")
@click.option("--column", help="The score column's header, with the LMS's id for it (see `grader grade --help`).")
@click.option("--rubric", "rubric_path", type=click.Path(dir_okay=False, exists=True, path_type=Path), help="The rubric the gradebook was graded with.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), help="Where to write (default: beside the gradebook).")
def lms_export(gradebook: Path, kind: str | None, column: str | None, rubric_path: Path | None, out_path: Path | None) -> None:
    """Write the grade file an LMS imports from an earlier run's GRADEBOOK (gradebook.csv)."""
    from grader.lms.export import ExportError, read_gradebook, source_lms

    try:
        kind = kind or source_lms(read_gradebook(gradebook))
    except ExportError as error:
        raise UserError(str(error)) from None
    if kind is None:
        raise UserError(f"{gradebook} did not come from one LMS's download: say which LMS with --lms")
    _export(gradebook, kind, _rubric(rubric_path), column, out_path)


@main.command()
@click.argument("out_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
def report(out_dir: Path) -> None:
    """Rebuild OUT_DIR's class-report.html and similarity.csv from the reports there (gradebook.csv, results.json)."""
    if not (out_dir / "gradebook.csv").is_file():
        raise UserError(f"{out_dir} has no gradebook.csv: give the --out folder of a `grader grade` run")
    from grader.classreport.render import SIMILARITY_CSV, write_class_report

    click.echo(f"wrote {write_class_report(out_dir)} and {out_dir / SIMILARITY_CSV}")


@main.command()
@click.option("--data-dir", type=DATA_DIR, callback=_dataset, help="Dataset (default: the bundled fixtures).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), help="Where to write (default: fixtures/expected).")
def regenerate(data_dir: Path | None, out_dir: Path | None) -> None:
    """Rewrite the golden outputs from the reference solution."""
    _need_java()
    from grader.dataset import DatasetError
    from grader.golden import GoldenError
    from grader.paths import BUNDLED_DATA, BUNDLED_EXPECTED, NoReference
    from grader.reference import regenerate as run_regenerate

    try:
        written = run_regenerate(data_dir or BUNDLED_DATA, out_dir or BUNDLED_EXPECTED)
    except (GoldenError, DatasetError, NoReference) as error:
        raise UserError(str(error)) from None
    for path in written:
        click.echo(f"wrote {path}")


@main.command()
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--size", type=SIZES, default="small", show_default=True, help="The bundled fixtures' size, the course's copy's (real), or the original release's (original).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), help="Where to write (default: fixtures/data).")
def fixtures(seed: int, size: str, out_dir: Path | None) -> None:
    """Generate a fixture dataset (then run `grader regenerate` for its goldens)."""
    from grader.fixtures import generate
    from grader.paths import BUNDLED_DATA

    click.echo(f"wrote {generate(out_dir or BUNDLED_DATA, seed, size)}")


@main.command("starter")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@click.option("--sample", is_flag=True, help="Copy the sample submission (8.2a done, the rest to do) instead of the starter.")
def starter(dest: Path, sample: bool) -> None:
    """Copy the starter files (or the sample) into DEST/assignment08."""
    from grader.paths import SAMPLE, STARTER

    source, target = (SAMPLE if sample else STARTER), dest / "assignment08"
    if target.exists():
        raise UserError(f"{target} already exists: choose another folder or move it away")
    try:
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    except OSError as error:
        raise UserError(f"could not write {target}: {error.strerror or error}") from None
    click.echo(f"wrote {target}: fill in the TODOs, then `pytest --submission {target}`")


@main.command("package-gradescope")
@click.argument("out_zip", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--hidden-data-dir", type=DATA_DIR, callback=_dataset, help="A dataset for the official score (e.g. the course's real data).")
@click.option("--hidden-seed", type=int, help="Generate the hidden dataset from this seed (keep it secret).")
@click.option("--hidden-size", type=SIZES, default="real", show_default=True, help="With --hidden-seed: the size of the hidden dataset.")
def package_gradescope(out_zip: Path, hidden_data_dir: Path | None, hidden_seed: int | None, hidden_size: str) -> None:
    """Build the Gradescope autograder zip at OUT_ZIP, optionally with a hidden dataset for the official score."""
    if hidden_data_dir and hidden_seed is not None:
        raise click.UsageError("--hidden-data-dir and --hidden-seed exclude each other")
    from grader.dataset import DatasetError
    from grader.fixtures import generate
    from grader.golden import GoldenError
    from grader.gradescope import build_package
    from grader.paths import NoReference
    from grader.rubric import RubricError

    if hidden_data_dir or hidden_seed is not None:
        _need_java()
    with tempfile.TemporaryDirectory(prefix="dsc650-hidden-") as scratch:
        hidden = generate(Path(scratch) / "data", hidden_seed, hidden_size) if hidden_seed is not None else hidden_data_dir
        try:
            written = build_package(out_zip, hidden=hidden)
        except (GoldenError, DatasetError, RubricError, NoReference, OSError) as error:
            raise UserError(str(error)) from None
    click.echo(f"wrote {written} ({written.stat().st_size:,} bytes): upload it in Gradescope's Configure Autograder")


@main.command("release-student")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
def release_student(out_dir: Path) -> None:
    """Build the student edition into OUT_DIR: a wheel with the grader, the bundled fixtures and
    their goldens, the starter and the sample, and no reference solution."""
    from grader.paths import NoReference
    from grader.release import build_student_wheel

    try:
        wheel = build_student_wheel(out_dir)
    except (NoReference, OSError) as error:
        raise UserError(str(error)) from None
    click.echo(f"wrote {wheel} ({wheel.stat().st_size:,} bytes): students `pip install {wheel.name}`, then "
               "`grader starter .` and `pytest --submission assignment08`")


@main.group()
def gradescope() -> None:
    """What Gradescope's scripts run (setup.sh and run_autograder)."""


@gradescope.command("run")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=Path("/autograder"), show_default=True)
def gradescope_run(root: Path) -> None:
    """Grade ROOT/submission into ROOT/results/results.json (run_autograder)."""
    from grader.gradescope import run

    sys.exit(run(root))


@gradescope.command("setup")
@click.option("--remove-reference", is_flag=True, help="Delete the reference solution once the class archive is built.")
@click.option("--class-archive/--no-class-archive", default=True, show_default=True, help="Build the JVM class archive.")
def gradescope_setup(remove_reference: bool, class_archive: bool) -> None:
    """Check and prepare this image for grading (setup.sh's last step)."""
    from grader.gradescope import setup

    sys.exit(setup(remove_reference, class_archive))


if __name__ == "__main__":
    main()
