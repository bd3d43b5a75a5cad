"""Code similarity across a batch: winnowed fingerprints (copydetect, MOSS's technique), the code
every student was given removed first.

copydetect tokenizes Python with pygments and replaces every name with one letter, so a copy with
its identifiers renamed fingerprints as the original; each k-gram of tokens is a fingerprint, so
lines moved around still match line by line. Fingerprints of the starter and of the README's code
(boilerplate) are dropped from every submission before comparing: what students were given is
never similarity. The result is evidence for a person, never a score change.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from html import escape
from io import StringIO
from itertools import combinations
from pathlib import Path

import numpy as np
from copydetect import CodeFingerprint, compare_files
from copydetect.utils import highlight_overlap

from grader.paths import CHECKOUT, STARTER

NOISE = 25  # copydetect's default: matches shorter than 25 tokens-characters are noise
GUARANTEE = 25  # copydetect's default too: window 1, every k-gram kept (a wider window picks by hash(), which differs per process)
FLAG = 0.8  # flagged when each side shares 80% of its own (non-starter) code with the other: independent work built on the same starter shares 15-70% here
EXACT = 100  # pairs compared in full (copydetect's compare_files, ~5 ms each), closest first
CODE_FILES = 50  # at most this many .py files of one submission, each at most CODE_BYTES
CODE_BYTES = 200_000
CSV_FIELDS = ["rank", "student_a", "student_b", "similarity", "share_a", "share_b", "tokens", "flagged"]


@dataclass
class Pair:
    """Two submissions and how much of each one's code the other holds (0 to 1)."""

    a: str
    b: str
    share_a: float
    share_b: float
    tokens: int
    slices: tuple[np.ndarray, np.ndarray]

    @property
    def similarity(self) -> float:
        """The smaller share: a short file wholly inside a long one is not a copy of it."""
        return min(self.share_a, self.share_b)

    @property
    def flagged(self) -> bool:
        return self.similarity >= FLAG


def submission_code(folder: Path) -> str:
    """A submission's Python files as one document, in path order, each under a comment naming it."""
    files = sorted(p for p in folder.rglob("*.py") if p.is_file() and not p.is_symlink() and "__pycache__" not in p.parts)
    parts = []
    for path in files[:CODE_FILES]:
        text = path.read_bytes()[:CODE_BYTES].decode("utf-8", errors="replace")
        parts.append(f"# ---- {path.relative_to(folder).as_posix()} ----\n{text.rstrip()}\n")
    return "\n".join(parts)


def given_code() -> str:
    """What every student was given: the starter's files and the README's code (fenced blocks and
    inline code spans), as one document."""
    parts = [submission_code(STARTER)] if STARTER.is_dir() else []
    readme = CHECKOUT / "README.md" if CHECKOUT else None
    if readme and readme.is_file():
        text = readme.read_text(encoding="utf-8")
        parts += re.findall(r"```\w*\n(.*?)```", text, flags=re.S)
        parts += [span for span in re.findall(r"`([^`\n]{12,})`", text)]
    return "\n".join(parts)


def _fingerprint(name: str, code: str, boilerplate: np.ndarray | None = None, window: int | None = None) -> CodeFingerprint:
    return CodeFingerprint(f"{name}.py", NOISE, window or GUARANTEE - NOISE + 1, boilerplate=boilerplate,
                           language="python", fp=StringIO(code))


def compare(codes: dict[str, str], given: str | None = None) -> list[Pair]:
    """The ``EXACT`` pairs of submissions that share the most fingerprints, most similar first."""
    given = given_code() if given is None else given
    boilerplate = np.array(sorted(_fingerprint("given", given, window=1).hashes)) if given.strip() else None
    prints = {name: _fingerprint(name, code, boilerplate) for name, code in sorted(codes.items()) if code.strip()}
    quick = []  # (shared fingerprints / the smaller side's): a set intersection, cheap for every pair
    for a, b in combinations(sorted(prints), 2):
        if shared := len(prints[a].hashes & prints[b].hashes):
            quick.append((shared / max(1, min(len(prints[a].hashes), len(prints[b].hashes))), a, b))
    pairs = []
    for _, a, b in sorted(quick, reverse=True)[:EXACT]:  # copydetect's exact shares for the closest pairs only
        tokens, (share_a, share_b), slices = compare_files(prints[a], prints[b])
        if tokens:
            pairs.append(Pair(a, b, float(share_a), float(share_b), int(tokens), slices))
    return sorted(pairs, key=lambda p: (-p.similarity, -p.tokens, p.a, p.b))


def side_by_side(pair: Pair, codes: dict[str, str]) -> tuple[str, str]:
    """Each side's code as HTML, the regions it shares with the other inside <mark>."""
    sides = []
    for name, slices in ((pair.a, pair.slices[0]), (pair.b, pair.slices[1])):
        spans = np.asarray(slices, dtype=int)
        if spans.size == 0:
            sides.append(escape(codes[name]))
            continue
        html, _ = highlight_overlap(codes[name], spans, "<mark>", "</mark>", escape_html=True)
        sides.append(html)
    return sides[0], sides[1]


def write_csv(pairs: list[Pair], path: Path) -> None:
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for rank, pair in enumerate(pairs, 1):
            writer.writerow({"rank": rank, "student_a": pair.a, "student_b": pair.b, "similarity": f"{pair.similarity:.3f}",
                             "share_a": f"{pair.share_a:.3f}", "share_b": f"{pair.share_b:.3f}", "tokens": pair.tokens,
                             "flagged": "yes" if pair.flagged else "no"})
