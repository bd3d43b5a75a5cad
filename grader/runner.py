"""The sandboxed child: ``python -m grader.runner SPEC.json`` runs one part of one submission.

It is the only place student code runs. It writes plain JSON that the parent validates; the
parent never imports, unpickles or executes anything the child produced.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from pathlib import Path


def main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    work = Path(spec["work"])
    submission, data_dir = Path(spec["submission"]), Path(spec["data_dir"])
    start = datetime.fromisoformat(spec["start"])
    os.chdir(work)
    sys.argv = [spec["part"]]
    if spec["part"] == "feed":
        from grader.feed import run_feed

        record = run_feed(submission, data_dir, work / "feed" / "results", start)
        (work / "feed.json").write_text(json.dumps(record, sort_keys=True, default=str))
        return 0
    from grader.replay import open_log, run_queries
    from grader.spark import session

    log = open_log(work / "queries.jsonl")
    try:
        spark = session(work / "spark")
    except Exception as error:
        log({"event": "spark-failed", "error": {"type": type(error).__name__, "message": str(error)[:2000], "where": []}})
        return 0
    run_queries(spark, submission, data_dir, work / "queries" / "results", work / "observed", start, log)
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1])
    sys.stdout.flush()
    sys.stderr.flush()
    # A student's non-daemon thread must not keep the child alive after the work is done.
    os._exit(code)
