"""``class-report.html``: what the class got wrong, from a batch's reports on disk, as one
self-contained page (the plot an inline SVG, no script, no file fetched) that opens offline.

Counts are over the graded submissions; rejected ones and grader errors are listed apart. Every
student's name links to their feedback.md, relative to the page, so the folder can be moved or
zipped whole.
"""

from __future__ import annotations

import io
import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import jinja2

from grader.classreport import similarity
from grader.classreport.load import Student, code_of, load

REPORT = "class-report.html"
SIMILARITY_CSV = "similarity.csv"
SLOW = 2.0  # a grading is unusually slow past this many times the batch's median
TIMED_OUT = re.compile(r"the time limit for this part")
SHOWN_PAIRS = 10  # pairs listed on the page (side by side when flagged); similarity.csv lists up to similarity.EXACT


@dataclass
class CheckRow:
    id: str
    part: str
    title: str
    passed: int = 0
    failed: int = 0
    diagnoses: list[tuple[str, list[str]]] = field(default_factory=list)  # label -> students, most frequent first


def _kind(cause: str) -> str:
    """A root cause without what differs per student (file lines, numbers, quoted values)."""
    kind = re.sub(r" at [\w./-]+ line \d+( \(in \w+\))?", "", cause)
    kind = re.sub(r"`[^`]*`|'[^']*'|\"[^\"]*\"", "…", kind)
    return re.sub(r"\d+(\.\d+)?", "N", kind)[:220]


def histogram_svg(scores: list[float], top: float) -> str:
    """The score distribution as an inline SVG (matplotlib, no fonts or files fetched)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    pyplot.rcParams["svg.fonttype"] = "none"  # text stays text: a browser renders it, a test can read it
    pyplot.rcParams["svg.hashsalt"] = "class-report"  # the same ids every time: the same page from the same reports
    figure, axes = pyplot.subplots(figsize=(6.4, 2.6), dpi=100)
    edges = [x - 0.5 for x in range(int(top) + 2)]
    axes.hist(scores, bins=edges, color="#3b6ea8", edgecolor="white")
    axes.set_xlabel(f"score (of {top:g})")
    axes.set_ylabel("submissions")
    axes.set_xlim(-0.5, top + 0.5)
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    pyplot.close(figure)
    return buffer.getvalue()[buffer.getvalue().index("<svg"):]


def summarise(students: list[Student]) -> dict:
    """Everything the page shows, as plain data (tests read it too)."""
    graded = [s for s in students if s.status == "graded"]
    checks: dict[str, CheckRow] = {}
    parts: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # part -> [full marks, graded]
    for student in graded:
        got: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        for test in student.tests:
            row = checks.setdefault(test.id, CheckRow(test.id, test.part, test.title))
            row.passed += test.passed
            row.failed += not test.passed
            got[test.part][0] += test.score
            got[test.part][1] += test.max_score
        for part, (score, top) in got.items():
            parts[part][0] += score >= top
            parts[part][1] += 1
    for row in checks.values():
        who: dict[str, list[str]] = defaultdict(list)
        for student in graded:
            for test in (t for t in student.tests if t.id == row.id and not t.passed):
                for label in test.labels or ["(no named diagnosis)"]:
                    who[label].append(student.name)
        row.diagnoses = sorted(who.items(), key=lambda item: (item[0].startswith("("), -len(item[1]), item[0]))
    causes: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for student in graded:
        for part, cause in student.causes.items():
            causes[_kind(cause)].append((student.name, part))
    median = statistics.median([s.seconds for s in graded]) if graded else 0.0
    return {
        "students": students, "graded": graded, "median_seconds": median,
        "mean_score": statistics.mean([s.score for s in graded]) if graded else 0.0,
        "median_score": statistics.median([s.score for s in graded]) if graded else 0.0,
        "scores": [s.score for s in graded], "max_score": max((s.max_score for s in students), default=0.0),
        "parts": dict(sorted(parts.items())), "checks": list(checks.values()),
        "causes": sorted(causes.items(), key=lambda item: (-len(item[1]), item[0])),
        "review": [s for s in students if s.review],
        "rejected": [s for s in students if s.status == "rejected"],
        "errors": [s for s in students if s.status == "error"],
        "timed_out": [s for s in graded if any(TIMED_OUT.search(c) for c in s.causes.values())],
        "slow": [s for s in graded if median and s.seconds > SLOW * median],
        "isolation": Counter(s.isolation for s in students if s.status == "graded"),
    }


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("grader.classreport", "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)
    env.filters["href"] = lambda path: quote(path)
    env.filters["pct"] = lambda x: f"{100 * x:.0f}%"
    env.filters["pts"] = lambda x: f"{x:g}"
    return env


def write_class_report(out_dir: Path) -> Path:
    """Write ``class-report.html`` and ``similarity.csv`` into ``out_dir`` from the reports there."""
    out_dir = Path(out_dir)
    students = load(out_dir)
    data = summarise(students)
    codes = {s.name: similarity.submission_code(folder) for s in students if (folder := code_of(out_dir, s.name))}
    pairs = similarity.compare(codes)
    similarity.write_csv(pairs, out_dir / SIMILARITY_CSV)
    links = {s.name: s.feedback for s in students}
    views = [(pair, *similarity.side_by_side(pair, codes)) for pair in pairs[:SHOWN_PAIRS] if pair.flagged or pair is pairs[0]]
    html = _environment().get_template("class-report.html.j2").render(
        **data, plot=histogram_svg(data["scores"], data["max_score"]) if data["scores"] else "", links=links,
        pairs=pairs[:SHOWN_PAIRS], views=views, flag=similarity.FLAG, compared=len(codes), slow_factor=SLOW,
    )
    path = out_dir / REPORT
    path.write_text(html, encoding="utf-8")
    return path
