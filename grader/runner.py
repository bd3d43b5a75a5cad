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
from typing import Any


def explain(error: Any, memory_bytes: int) -> Any:
    """Give an error the one clear sentence its feedback needs: a MemoryError carries no message
    (say what the limit is), nor does ``sys.exit()`` or a bare ``raise ValueError``."""
    if isinstance(error, dict) and not str(error.get("message") or "").strip():
        if error.get("type") == "MemoryError":
            error["message"] = (
                f"out of memory: the code asked for more memory than the {memory_bytes / 2**30:g} GiB this part may use"
            )
        else:
            error["message"] = "(raised without a message)"
    return error


def main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    work = Path(spec["work"])
    submission, data_dir = Path(spec["submission"]), Path(spec["data_dir"])
    start = datetime.fromisoformat(spec["start"])
    memory_bytes = int(spec.get("memory_bytes") or 0)
    os.chdir(work)
    sys.argv = [spec["part"]]
    if spec["part"] == "feed":
        from grader.feed import run_feed

        record = run_feed(submission, data_dir, work / "feed" / "results", start)
        explain(record.get("error"), memory_bytes)
        (work / "feed.json").write_text(json.dumps(record, sort_keys=True, default=str))
        return 0
    from grader.replay.class_archive import use_options
    from grader.replay.driver import open_log, run_queries
    from grader.replay.schedule import read_folders
    from grader.replay.spark import partitions_for, session

    write = open_log(work / "queries.jsonl")

    def log(record: dict) -> None:
        explain(record.get("error"), memory_bytes)
        write(record)

    archive = spec.get("class_archive")
    if spec.get("packed"):
        from grader.dataset import use_pack

        use_pack(data_dir, Path(spec["packed"]))  # the rows from the data's pack; if it does not fit, from the files
    try:
        _, folders = read_folders(data_dir)  # cached: the replay reads them again
        rows = sum(table.num_rows for kinds in folders.values() for table in kinds.values())
        spark = session(work / "spark", java_options=use_options(Path(archive)) if archive else "",
                        partitions=partitions_for(rows))
    except Exception as error:
        log({"event": "spark-failed", "error": {"type": type(error).__name__, "message": str(error)[:2000], "where": []}})
        return 0
    run_queries(spark, submission, data_dir, work / "queries" / "results", work / "observed", start, log,
                start_seconds=float(spec.get("start_seconds") or 30.0))
    return 0


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # the student may have closed or replaced it
            pass


if __name__ == "__main__":
    code = main(sys.argv[1])
    _flush()
    # A student's non-daemon thread must not keep the child alive after the work is done.
    os._exit(code)
