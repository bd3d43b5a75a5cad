"""Where one grading's time goes: ``python benchmarks/phases.py [DATA]`` (default: the fixtures).

Two parts, each in this process. First the grader's replay of the reference with a line per
event: the session's start (from the class archive, when one is built), ``start_queries``, then
every step with its seconds and the micro-batches each query has run so far. Then one grading
as ``grader grade`` does it: both sandboxed children (at once), then the judging. Prints one
JSON line last.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from grader import engine
from grader.checks.registry import CHECK_IDS
from grader.contract import START
from grader.judge import context, judge
from grader.paths import BUNDLED_DATA, reference
from grader.reference import expected_for
from grader.replay import class_archive, spark
from grader.replay import driver as replay
from grader.rubric import DEFAULT_RUBRIC, load_rubric


def replay_timeline(data_dir: Path) -> dict:
    figures: dict = {"steps_s": []}
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        began = time.monotonic()
        archive = class_archive.current()  # as a grading's JVM starts, when the archive is built
        session = spark.session(work / "spark", java_options=class_archive.use_options(archive) if archive else "")
        figures["session_s"] = round(time.monotonic() - began, 2)
        print(f"{figures['session_s']:6.2f} s  JVM and session started")
        last = time.monotonic()

        def log(record: dict) -> None:
            nonlocal last
            now = time.monotonic()
            seconds, last = now - last, now
            batches = [q.get("batches") for q in record.get("queries", [])]
            print(f"{seconds:6.2f} s  {record.get('event')} {record.get('step', '')} batches so far: {batches}")
            if record.get("event") == "started":
                figures["start_queries_s"] = round(seconds, 2)
            elif record.get("event") == "step":
                figures["steps_s"].append(round(seconds, 2))
                figures["batches"] = sum(b or 0 for b in batches)

        replay.run_queries(session, reference(), data_dir, work / "results", work / "observed", START, log)
        session.stop()
    return figures


def grading(data_dir: Path) -> dict:
    limits = engine.limits_for(data_dir)
    expected = expected_for(data_dir, limits)
    rubric = load_rubric(DEFAULT_RUBRIC, known=CHECK_IDS)
    began = time.monotonic()
    with engine.run_submission(reference(), data_dir, limits) as run:
        children = time.monotonic() - began
        began = time.monotonic()
        checks, *_ = judge(context(run.data_dir, run.feed, run.queries, expected), rubric)
        judging = time.monotonic() - began
    print(f"{children:6.2f} s  both children (feed and queries, at once)")
    print(f"{judging:6.2f} s  judging ({sum(c.passed for c in checks)}/{len(checks)} checks passed)")
    return {"children_s": round(children, 2), "judging_s": round(judging, 2)}


def main() -> None:
    data_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else BUNDLED_DATA
    figures = {"data": str(data_dir), **replay_timeline(data_dir), **grading(data_dir)}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
