"""``grader``: the command line (click), for students, CI and instructors."""

from __future__ import annotations

import glob
import sys
import tempfile
from pathlib import Path

import click

from grader.java import JavaMissing, require_java


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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dsc650-assignment08-grader")
def main() -> None:
    """Grade DSC 650 Assignment 8 (Spark Structured Streaming) submissions."""


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True, help="Folder for the reports.")
@click.option("--jobs", type=click.IntRange(1, 16), default=1, show_default=True, help="Submissions graded at once.")
@click.option("--timeout", type=click.FloatRange(5, 3600), help="Seconds each part of a submission may run (default: 300, more for datasets of over 22 steps).")
@click.option("--data-dir", type=click.Path(file_okay=False, exists=True, path_type=Path), help="Grade on this dataset (bdd layout) instead of the bundled fixtures.")
@click.option("--seed", type=int, help="Grade on a fresh fixture set generated from this seed.")
@click.option("--rubric", "rubric_path", type=click.Path(dir_okay=False, exists=True, path_type=Path), help="Rubric file (default: the bundled rubric.toml).")
@click.option("--shard", callback=_parse_shard, metavar="I/N", help="Grade only shard I of N (every N-th path in sorted order), to split a batch across machines.")
@click.option("--class-archive/--no-class-archive", default=True, show_default=True,
              help="Start each grading's JVM from a class archive, built once per install (about 40 s) and about 4 s faster per grading.")
def grade(paths: tuple[str, ...], out_dir: Path, jobs: int, timeout: float | None, data_dir: Path | None, seed: int | None,
          rubric_path: Path | None, shard: tuple[int, int] | None, class_archive: bool) -> None:
    """Grade submissions (zips, folders or globs) and write reports to --out."""
    if data_dir and seed is not None:
        raise click.UsageError("--data-dir and --seed exclude each other")
    submissions = _expand(paths)
    if shard:
        from grader.batch import shard as take_shard

        submissions = take_shard(submissions, *shard)
        click.echo(f"shard {shard[0]}/{shard[1]}: {len(submissions)} submission(s)", err=True)
    _need_java()
    from grader import class_archive as archive
    from grader.batch import grade_batch
    from grader.checks import CHECK_IDS
    from grader.engine import limits_for
    from grader.fixtures import generate
    from grader.golden import GoldenError
    from grader.progress import Progress
    from grader.reference import BUNDLED_DATA, expected_for
    from grader.rubric import DEFAULT_RUBRIC, RubricError, load_rubric

    try:
        rubric = load_rubric(rubric_path or DEFAULT_RUBRIC, known=CHECK_IDS)
    except RubricError as error:
        raise click.ClickException(str(error)) from None
    if class_archive:
        archive.ensure(lambda line: click.echo(line, err=True))
    else:
        archive.disable()
    with tempfile.TemporaryDirectory(prefix="dsc650-data-") as scratch:
        if seed is not None:
            data_dir = generate(Path(scratch) / "data", seed)
        data_dir = data_dir or BUNDLED_DATA
        limits = limits_for(data_dir, timeout)
        try:
            expected = expected_for(data_dir, limits)
        except GoldenError as error:
            raise click.ClickException(str(error)) from None
        with Progress(len(submissions)) as progress:
            result = grade_batch(submissions, out_dir, data_dir, expected, rubric, limits, jobs=jobs, on_done=progress.done)
        progress.summary(result.grades, rubric, out_dir)
    sys.exit(1 if result.grader_errors else 0)


@main.command()
@click.option("--data-dir", type=click.Path(file_okay=False, exists=True, path_type=Path), help="Dataset (default: the bundled fixtures).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), help="Where to write (default: fixtures/expected).")
def regenerate(data_dir: Path | None, out_dir: Path | None) -> None:
    """Rewrite the golden outputs from the reference solution."""
    _need_java()
    from grader.golden import GoldenError
    from grader.reference import BUNDLED_DATA, BUNDLED_EXPECTED
    from grader.reference import regenerate as run_regenerate

    try:
        written = run_regenerate(data_dir or BUNDLED_DATA, out_dir or BUNDLED_EXPECTED)
    except GoldenError as error:
        raise click.ClickException(str(error)) from None
    for path in written:
        click.echo(f"wrote {path}")


@main.command()
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), help="Where to write (default: fixtures/data).")
def fixtures(seed: int, out_dir: Path | None) -> None:
    """Generate a fixture dataset (then run `grader regenerate` for its goldens)."""
    from grader.fixtures import generate
    from grader.reference import BUNDLED_DATA

    click.echo(f"wrote {generate(out_dir or BUNDLED_DATA, seed)}")


@main.command("package-gradescope")
@click.argument("out_zip", type=click.Path(dir_okay=False, path_type=Path))
def package_gradescope(out_zip: Path) -> None:
    """Build the Gradescope autograder zip (setup.sh, run_autograder and this project) at OUT_ZIP."""
    from grader.golden import GoldenError
    from grader.gradescope import build_package
    from grader.rubric import RubricError

    try:
        written = build_package(out_zip)
    except (GoldenError, RubricError, FileNotFoundError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"wrote {written} ({written.stat().st_size:,} bytes): upload it in Gradescope's Configure Autograder")


if __name__ == "__main__":
    main()
