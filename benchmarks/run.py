"""Speed and memory of grading, measured in one run on this machine: ``make benchmark``.

Prints a table, then (last line) one JSON object with every figure. Whole-process figures run
the ``grader`` command as a subprocess, JVM start included; peak memory is the largest sum of
RSS over the process tree, sampled every 50 ms. Medians of several runs; the baseline runs once.
Gradings start their JVM from the class archive (grader/replay/class_archive.py), as ``grader grade``
does; the primed figures are without it.

  python benchmarks/run.py [--runs 3] [--batch 4] [--skip-baseline] [--skip-real] [--skip-settings]

The variant figures (5) grade correct solutions that set what changes only speed (processing-time
triggers, 200 shuffle partitions, maxFilesPerTrigger; tests/catalogue/catalogue.toml's
speed_settings, whole and cut into its settings) on the real data, once each, beside the
reference's median: the grader undoes those settings, so each should take the reference's time.

The settings figures (6) replay the reference with one speed setting of grader/replay/spark.py undone
at a time (benchmarks/settings.py), once each, in JVMs without the class archive: what every
setting is worth.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from settings import VARIANTS

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))  # the catalogue's variants are built as its tests build them
from grader.replay import class_archive  # noqa: E402
from tests.test_catalogue import RIGHT, build  # noqa: E402

REAL_DATA = PROJECT.parent / "shared" / "bdd"
REAL_TIME = 121.4  # seconds: the last step of the real data, so a real-time replay's floor


def measure(command: list[str]) -> tuple[float, float, str]:
    """(wall seconds, peak tree RSS in MiB, stdout) of one command."""
    peak = 0
    began = time.monotonic()
    child = subprocess.Popen(command, cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        root = psutil.Process(child.pid)
        while not done.is_set():
            try:
                tree = [root, *root.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree))
            except psutil.Error:
                pass
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = child.communicate()
    done.set()
    sampler.join()
    if child.returncode not in (0,):
        raise SystemExit(f"{' '.join(command)} failed with exit {child.returncode}")
    return time.monotonic() - began, peak / 2**20, out


def grade(paths: list[Path], extra: list[str] = ()) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as out:
        seconds, mib, _ = measure([sys.executable, "-m", "grader", "grade", *map(str, paths), "--out", out, *extra])
    return seconds, mib


def speed_variants(scratch: Path) -> dict[str, Path]:
    """The catalogue's speed_settings variant, whole and cut into its settings: each is the
    reference with some of its edits, made as the catalogue's tests make it."""
    edits = RIGHT["speed_settings"]["edit"]
    chosen = {
        "processing-time triggers": [e for e in edits if "trigger(" in e["new"]],
        "shuffle partitions 200": [e for e in edits if "shuffle.partitions" in e["new"]],
        "maxFilesPerTrigger 1": [e for e in edits if "maxFilesPerTrigger" in e["new"]],
        "all speed settings": edits,
    }
    return {name: build([{"edit": picked}], scratch / f"assignment08_{name.replace(' ', '_')}") for name, picked in chosen.items()}


def median_of(runs: int, fn) -> tuple[float, float]:
    figures = [fn() for _ in range(runs)]
    return statistics.median(f[0] for f in figures), max(f[1] for f in figures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=4, help="copies of the reference in the batch figures")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--skip-real", action="store_true")
    parser.add_argument("--skip-settings", action="store_true")
    args = parser.parse_args()
    reference = PROJECT / "solution" / "assignment08"
    rows: list[tuple[str, str, str, str]] = []
    figures: dict[str, float | int | str | None] = {"cores": psutil.cpu_count(), "runs": args.runs}

    # (0) The JVM class archive every grading below starts from (the command builds it when absent):
    # built here once more, into a scratch file, to time what an install pays once.
    with tempfile.TemporaryDirectory() as scratch:
        began = time.monotonic()
        class_archive.build(Path(scratch) / "timed.jsa")
        seconds, mib = time.monotonic() - began, (Path(scratch) / "timed.jsa").stat().st_size / 2**20
    figures.update(class_archive_build_s=round(seconds, 1), class_archive_mib=round(mib))
    rows.append(("(0) JVM class archive, built once per install", f"{seconds:.1f} s", "", f"{mib:.0f} MiB file"))
    if class_archive.ensure() is None:
        raise SystemExit("no class archive: the figures below would not be the grader's")

    real = REAL_DATA.is_dir() and not args.skip_real
    if real:
        grade([reference], ["--data-dir", str(REAL_DATA)])  # fills the goldens cache: not timed
        seconds, mib = median_of(args.runs, lambda: grade([reference], ["--data-dir", str(REAL_DATA)]))
        figures.update(real_s=round(seconds, 1), real_mib=round(mib), real_vs_realtime=round(seconds / REAL_TIME, 3))
        rows.append(("(1) reference on the real data, whole process", f"{seconds:.1f} s", f"{mib:.0f} MiB",
                     f"{seconds / REAL_TIME:.2f}x real time ({REAL_TIME} s)"))
        seconds, mib = grade([reference], ["--data-dir", str(REAL_DATA), "--no-class-archive"])
        figures.update(real_no_archive_s=round(seconds, 1))
        rows.append(("(1') the same without the class archive, once", f"{seconds:.1f} s", f"{mib:.0f} MiB", ""))
        # (5) Correct variants with settings that change only speed, each graded once beside the
        # reference's median: the grader undoes them, so each should take the reference's time.
        with tempfile.TemporaryDirectory() as scratch:
            for name, variant in speed_variants(Path(scratch)).items():
                seconds, mib = grade([variant], ["--data-dir", str(REAL_DATA)])
                ratio = seconds / float(figures["real_s"])
                figures[f"real_{name.replace(' ', '_').replace('-', '_')}_s"] = round(seconds, 1)
                rows.append((f"(5) {name} variant on the real data, once", f"{seconds:.1f} s", f"{mib:.0f} MiB",
                             f"{ratio:.2f}x the reference's median"))
    else:
        print(f"skipping the real-data figures: {REAL_DATA} is absent" if not REAL_DATA.is_dir() else "skipping the real-data figures", file=sys.stderr)

    if real and not args.skip_baseline:
        naive = [sys.executable, str(PROJECT / "benchmarks" / "naive_replay.py"), str(REAL_DATA)]
        seconds, mib, out = measure([*naive, "999", "spark.sql.shuffle.partitions=1"])
        base = json.loads(out.strip().splitlines()[-1])
        figures.update(baseline_s=round(seconds, 1), baseline_streaming_s=base["streaming_s"], baseline_batches=base["batches"], baseline_mib=round(mib))
        rows.append(("(2) naive replay, shuffle partitions 1, whole process", f"{seconds:.1f} s", f"{mib:.0f} MiB",
                     f"{base['batches']} batches, {base['streaming_s']} s streaming"))
        seconds, mib, out = measure([*naive, "5"])
        five = json.loads(out.strip().splitlines()[-1])
        figures.update(defaults_5_steps_streaming_s=five["streaming_s"], defaults_5_steps_batches=five["batches"])
        rows.append(("(2') naive replay, Spark defaults, first 5 steps", f"{seconds:.1f} s", f"{mib:.0f} MiB",
                     f"{five['batches']} batches, {five['streaming_s']} s streaming"))
        if "real_s" in figures:
            figures["real_vs_baseline"] = round(float(figures["real_s"]) / float(figures["baseline_s"]), 3)

    seconds, mib = median_of(max(args.runs, 3), lambda: grade([reference]))
    figures.update(fixture_s=round(seconds, 1), fixture_mib=round(mib))
    rows.append(("(3) one submission on the bundled fixtures, whole process", f"{seconds:.1f} s", f"{mib:.0f} MiB", "goal <= 20 s"))
    seconds, mib = median_of(max(args.runs, 3), lambda: grade([reference], ["--no-class-archive"]))
    figures.update(fixture_no_archive_s=round(seconds, 1), fixture_no_archive_mib=round(mib))
    rows.append(("(3') the same without the class archive", f"{seconds:.1f} s", f"{mib:.0f} MiB", ""))

    with tempfile.TemporaryDirectory() as scratch:
        copies = []
        for n in range(args.batch):
            copy = Path(scratch) / f"assignment08_Copy{n}"
            shutil.copytree(reference, copy)
            copies.append(copy)
        for jobs in (1, 2):
            seconds, mib = grade(copies, ["--jobs", str(jobs)])
            figures[f"batch_jobs{jobs}_s"] = round(seconds, 1)
            figures[f"batch_jobs{jobs}_mib"] = round(mib)
            figures[f"batch_jobs{jobs}_per_hour"] = round(args.batch / seconds * 3600)
            rows.append((f"(4) {args.batch} copies, --jobs {jobs}", f"{seconds:.1f} s", f"{mib:.0f} MiB",
                         f"{args.batch / seconds * 3600:.0f} submissions/hour"))
    figures["jobs2_speedup"] = round(float(figures["batch_jobs1_s"]) / float(figures["batch_jobs2_s"]), 2)

    if not args.skip_settings:
        data = REAL_DATA if real else PROJECT / "fixtures" / "data"
        script = [sys.executable, str(PROJECT / "benchmarks" / "settings.py"), str(data)]
        for without in VARIANTS:
            _, mib, out = measure([*script, without])
            result = json.loads(out.strip().splitlines()[-1])
            figures[f"replay_without_{without}_s".replace("-", "_").replace("without_all", "all_settings")] = result["replay_s"]
            what = "all settings" if without == "all" else f"without {without}"
            rows.append((f"(6) replay of {data.name}, {what}", f"{result['replay_s']:.1f} s", f"{mib:.0f} MiB",
                         f"{result['batches']} batches, {result['jvm_cpu_s']} s JVM CPU"))

    width = max(len(r[0]) for r in rows)
    print(f"{'what':<{width}}  {'wall':>8}  {'peak RSS':>9}  note")
    for what, wall, mem, note in rows:
        print(f"{what:<{width}}  {wall:>8}  {mem:>9}  {note}")
    print(json.dumps(figures, sort_keys=True))


if __name__ == "__main__":
    main()
