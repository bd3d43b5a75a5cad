"""The class report, as an instructor gets it: one batch of real gradings (a correct solution in
its own style, the reference grouped by speed too, a disguised copy of that one, a zip rejected at
intake), graded once; the page is then read back, rebuilt by `grader report`, and opened in
headless Chromium, where what a person sees is checked (the plot, the counts, the links)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest

from grader.batch import BatchResult, grade_batch
from grader.classreport.load import load
from grader.classreport.render import summarise
from tests.conftest import grading
from tests.disguise import disguise
from tests.test_catalogue import HERE, build

GROUP_BY_SPEED = {"file": "stream_queries.py", "old": '.groupBy(F.window("timestamp", WINDOW), "uuid")',
                  "new": '.groupBy(F.window("timestamp", WINDOW), "uuid", "speed")  # MUTATION: grouped by speed too'}
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class Batch:
    out: Path
    result: BatchResult


@pytest.fixture(scope="session")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Batch:
    """Three gradings and a rejected zip, graded once for every test here (about a minute)."""
    root = tmp_path_factory.mktemp("class")
    speed = build([{"edit": [GROUP_BY_SPEED]}], root / "assignment08_SpeedSam")
    copy = disguise(speed, root / "assignment08_CopyCat")
    right = shutil.copytree(HERE / "right" / "busy_wait_window_struct", root / "assignment08_RightRita")
    rejected = root / "assignment08_EmptyEve.zip"
    with zipfile.ZipFile(rejected, "w") as archive:
        archive.writestr("notes/README.txt", "I ran out of time.\n")
    out = root / "reports"
    result = grade_batch([speed, copy, right, rejected], out, grading(), jobs=2)
    assert result.grader_errors == 0
    return Batch(out, result)


pytestmark = pytest.mark.spark


def _gradebook(out: Path) -> list[dict]:
    with (out / "gradebook.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_the_batch_writes_a_class_report_whose_counts_are_the_grades(batch: Batch) -> None:
    assert (batch.out / "class-report.html").is_file() and (batch.out / "similarity.csv").is_file()
    data = summarise(load(batch.out))
    grades = {g.student: g for g in batch.result.grades}
    assert {s.name for s in data["students"]} == {row["student"] for row in _gradebook(batch.out)} == set(grades)
    assert [s.name for s in data["rejected"]] == ["EmptyEve"]
    graded = [g for g in grades.values() if g.status == "graded"]
    assert len(data["graded"]) == len(graded) == 3
    for row in data["checks"]:  # the page's pass counts, from disk, against the grades in memory
        assert row.passed == sum(c.passed for g in graded for c in g.checks if c.id == row.id), row.id
    assert sorted(data["scores"]) == sorted(g.score for g in graded)
    reasons = {g.student: g.reason or [c.summary for c in g.checks if not c.passed] for g in graded}
    assert data["parts"]["8.2b"] == [1, 3] and data["parts"]["8.1"] == [3, 3], reasons
    assert data["isolation"].total() == 3
    assert grades["CopyCat"].score == grades["SpeedSam"].score < grades["RightRita"].score == grades["RightRita"].max_score, reasons


def test_group_by_speed_is_named_in_feedback_and_counted_by_label(batch: Batch) -> None:
    feedback = (batch.out / "SpeedSam" / "feedback.md").read_text(encoding="utf-8")
    assert "several rows for one window and route" in feedback
    assert "speed (each row's mean_speed is one speed value of its window)" in feedback
    assert "Group by the window and the route only" in feedback
    results = json.loads((batch.out / "SpeedSam" / "results.json").read_text(encoding="utf-8"))
    final = next(t for t in results["tests"] if t["number"] == "windowed.final")
    assert final["extra_data"]["labels"][0] == "grouped by an extra column"
    row = next(r for r in summarise(load(batch.out))["checks"] if r.id == "windowed.final")
    assert row.diagnoses[0] == ("grouped by an extra column", ["CopyCat", "SpeedSam"])


def test_the_disguised_copy_is_the_top_pair_and_the_other_work_is_not_near(batch: Batch) -> None:
    with (batch.out / "similarity.csv").open(newline="", encoding="utf-8") as handle:
        pairs = list(csv.DictReader(handle))
    top = pairs[0]
    assert {top["student_a"], top["student_b"]} == {"CopyCat", "SpeedSam"} and top["flagged"] == "yes"
    assert float(top["similarity"]) > 0.9
    others = pairs[1:]
    assert others and all(float(p["similarity"]) < 0.3 and p["flagged"] == "no" for p in others), others


def test_grader_report_rebuilds_the_same_page_from_the_reports_on_disk(batch: Batch, tmp_path: Path) -> None:
    copy = shutil.copytree(batch.out, tmp_path / "merged")
    (copy / "class-report.html").unlink()
    done = subprocess.run([sys.executable, "-m", "grader", "report", str(copy)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (copy / "class-report.html").read_text(encoding="utf-8") == (batch.out / "class-report.html").read_text(encoding="utf-8")
    missing = subprocess.run([sys.executable, "-m", "grader", "report", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and "has no gradebook.csv" in missing.stderr


class _Page(HTMLParser):
    """What a browser's DOM holds that a person looks at: links, the plot's bars, texts by id."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.svg = False
        self.text: dict[str, str] = {}
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "a" and "student" in (found.get("class") or ""):
            self.links.append(found.get("href") or "")
        if tag == "svg":
            self.svg = True
        self._open.append(found.get("id") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self.svg = False
        if self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        if self.svg:
            self.text["svg"] = self.text.get("svg", "") + data
        for name in {n for n in self._open if n}:
            self.text[name] = self.text.get(name, "") + data


def _chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM or "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                           "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
                           f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture
def browser() -> str:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run installs it (apt-get install chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium chromium-driver)")
    return CHROMIUM


def test_a_person_opening_the_report_sees_the_plot_the_counts_and_working_links(batch: Batch, browser: str, tmp_path: Path) -> None:
    page = (batch.out / "class-report.html").as_uri()
    dom = _chromium("--dump-dom", page, profile=tmp_path / "profile")
    assert dom.returncode == 0 and "<svg" in dom.stdout, dom.stderr[-2000:]
    seen = _Page()
    seen.feed(dom.stdout)
    assert "4 submissions: 3 graded, 1 rejected at intake, 0 the grader failed on" in " ".join(seen.text["totals"].split())
    assert "score (of 26)" in seen.text["svg"] and "submissions" in seen.text["svg"], "the histogram's axes are labelled"
    assert "EmptyEve" in seen.text["rejected"] and "CopyCat" in seen.text["pairs"]
    assert seen.links and all((batch.out / link).is_file() for link in seen.links), seen.links
    assert {Path(link).parent.name for link in seen.links} >= {"SpeedSam", "CopyCat", "RightRita", "EmptyEve"}
    shot = tmp_path / "report.png"
    done = _chromium("--window-size=1200,1600", f"--screenshot={shot}", page, profile=tmp_path / "profile")
    assert done.returncode == 0 and shot.stat().st_size > 20_000, done.stderr[-2000:]
    from PIL import Image

    colours = Image.open(shot).convert("RGB").getcolors(1 << 20) or []
    assert any(abs(r - 0x3B) < 8 and abs(g - 0x6E) < 8 and abs(b - 0xA8) < 8 for _, (r, g, b) in colours), "the bars are drawn"
