"""The similarity check on real code, no JVM: a disguised copy stands out, independent solutions
built on the same starter do not, and what every student was given never counts."""

from __future__ import annotations

import time
from pathlib import Path

from grader.classreport.similarity import FLAG, compare, side_by_side, submission_code
from grader.paths import REFERENCE, STARTER
from tests.disguise import disguise
from tests.test_catalogue import HERE


def _codes(tmp_path: Path) -> dict[str, str]:
    assert REFERENCE is not None
    copy = disguise(REFERENCE, tmp_path / "copy")
    return {"reference": submission_code(REFERENCE), "copy": submission_code(copy), "starter_only": submission_code(STARTER),
            "sql": submission_code(HERE / "right" / "utcnow_sql"),
            "busy_wait": submission_code(HERE / "right" / "busy_wait_window_struct")}


def test_the_disguise_renames_and_reorders(tmp_path: Path) -> None:
    codes = _codes(tmp_path)
    assert codes["copy"] != codes["reference"] and "my_" in codes["copy"]
    order = [line for line in codes["copy"].splitlines() if line.startswith("def ")]
    assert order != [line for line in codes["reference"].splitlines() if line.startswith("def ")]


def test_a_disguised_copy_ranks_first_and_independent_work_is_far_below(tmp_path: Path) -> None:
    codes = _codes(tmp_path)
    pairs = compare(codes)
    assert {pairs[0].a, pairs[0].b} == {"copy", "reference"} and pairs[0].flagged and pairs[0].similarity > 0.9
    for pair in pairs[1:]:
        if {pair.a, pair.b} & {"sql", "busy_wait"}:
            assert pair.similarity < 0.3 and not pair.flagged, pair
    assert pairs[0].similarity >= FLAG > max(p.similarity for p in pairs[1:] if {p.a, p.b} & {"sql", "busy_wait"})


def test_the_starter_never_counts_as_similarity(tmp_path: Path) -> None:
    codes = _codes(tmp_path)
    with_starter = [p for p in compare(codes) if "starter_only" in (p.a, p.b)]
    assert all(p.similarity < 0.05 for p in with_starter), with_starter
    two_starters = compare({"a": codes["starter_only"], "b": codes["starter_only"] + "\n"})
    assert two_starters == [] or two_starters[0].similarity < 0.05
    unfiltered = compare({"a": codes["starter_only"], "b": codes["starter_only"]}, given="")
    assert unfiltered and unfiltered[0].similarity > 0.9, "without the starter removed, two starters would be copies"


def test_the_side_by_side_view_marks_the_shared_regions(tmp_path: Path) -> None:
    codes = _codes(tmp_path)
    top = compare(codes)[0]
    left, right = side_by_side(top, codes)
    assert left.count("<mark>") >= 3 and right.count("<mark>") >= 3
    assert "&#34;" in left or "&quot;" in left, "the code is escaped"


def test_it_costs_seconds_for_a_class(tmp_path: Path) -> None:
    base = list(_codes(tmp_path).values())
    codes = {f"s{i:03d}": base[i % len(base)] + f"\ndef extra_{i}(x):\n    return x * {i} - {i * 7}\n" for i in range(60)}
    began = time.perf_counter()
    pairs = compare(codes)
    assert time.perf_counter() - began < 30 and len(pairs) == 100


def test_a_merged_ci_batch_gets_a_report_whose_links_reach_each_shards_folders(tmp_path: Path) -> None:
    """`grader report` on the CI example's merged layout (the gradebook at the top, each shard's
    student folders under shards/): no JVM, the reports are written here as a batch writes them."""
    import csv
    import json
    import re

    from grader.classreport.load import keep_code
    from grader.classreport.render import write_class_report

    assert REFERENCE is not None
    rows = []
    for shard, (student, folder) in enumerate([("Ann", REFERENCE), ("Bob", disguise(REFERENCE, tmp_path / "bob"))], 1):
        home = tmp_path / "out" / "shards" / f"reports-shard-{shard}" / student
        home.mkdir(parents=True)
        keep_code(folder, home)
        test = {"name": "8.2c Outer rows", "number": "joined.unmatched", "score": 0, "max_score": 3, "status": "failed",
                "output": "0 of 3 rows", "extra_data": {"part": "8.2c", "labels": ["inner join"]}}
        (home / "results.json").write_text(json.dumps({"execution_time": 10.0 * shard, "tests": [test], "extra_data": {}}))
        (home / "feedback.md").write_text(f"# {student}\n")
        rows.append({"student": student, "file": f"{student}.zip", "score": "0", "max_score": "3", "status": "graded",
                     "isolation": "unconfined", "review": "", "reason": "joined.unmatched"})
    with (tmp_path / "out" / "gradebook.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    page = write_class_report(tmp_path / "out").read_text(encoding="utf-8")
    links = set(re.findall(r'class="student" href="([^"]+)"', page))
    assert links == {"shards/reports-shard-1/Ann/feedback.md", "shards/reports-shard-2/Bob/feedback.md"}
    assert all((tmp_path / "out" / link).is_file() for link in links)
    assert 'data-label="inner join"><b>inner join</b> (2)' in page
    assert "1 pair(s) flagged" in page.replace('<span id="flagged-count">', "").replace("</span>", "")
