"""Spark's errors, translated into one sentence that names the fix.

A student reads this sentence, not Spark's message (often a plan dump), so the sentence keeps what
made the message specific: the column that does not exist and the ones Spark suggests, the path
that is missing, the duplicated column, the output mode, the expression whose types do not fit.

Each rule is (pattern, part or None, sentence). The sentence is a plain string, or a function of
the message that fills in the names Spark gave (and says the same without them when Spark's wording
gives none). The part lets an error raised while starting all queries at once be charged to the
query it is about. Patterns cover Spark 4's error classes and Spark 3's older wording.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from grader.contract import JOIN_CONDITION, WATERMARK

_QUOTED = r"`(?:[^`]|``)*`"  # one identifier as Spark quotes it
_NAME = rf"{_QUOTED}(?:\.{_QUOTED})*"  # a qualified name: `l`.`uid`
_SCHEMA = "check the spelling against the schema in the README"


def _clip(text: str, limit: int) -> str:
    """What Spark named, short enough to keep the sentence to about two lines."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _name(quoted: str) -> str:
    """`l`.`uid` -> `l.uid`: the name as it was written, in one pair of backticks."""
    parts = [part.replace("``", "`") for part in re.findall(r"`((?:[^`]|``)*)`", quoted)]
    return f"`{_clip('.'.join(parts), 80)}`"


def _names(listing: str, limit: int = 5) -> str:
    """Spark's quoted names, or its old unquoted comma-separated ones, as `a`, `b`, ..."""
    names = [_name(q) for q in re.findall(_NAME, listing)]
    names = names or [f"`{_clip(n.strip(), 80)}`" for n in listing.split(",") if n.strip()]
    return _clip(", ".join(names[:limit]) + (", ..." if len(names) > limit else ""), 160)


def _path(text: str) -> str:
    """A path as Spark gives it, without Hadoop's file: prefix."""
    return _clip(re.sub(r"^file:(?://)?", "", text.strip()), 160)


def _unresolved(message: str) -> str:
    new = re.search(rf"with name ({_NAME}) cannot be resolved(?:\.\s*Did you mean one of the following\?\s*"
                    r"\[([^\]\n]*)\])?", message)
    old = re.search(r"cannot resolve '?`?([^'`\n]+?)`?'? given input columns: \[([^\]\n]*)\]", message)
    if new:
        missing, hint = _name(new[1]), f" (Spark suggests {_names(new[2])})" if new[2] else ""
    elif old:
        missing, hint = f"`{_clip(old[1], 80)}`", f" (the input has {_names(old[2])})" if old[2].strip() else ""
    else:
        return f"A column your query names does not exist: {_SCHEMA}."
    return f"A column your query names does not exist: {missing}{hint}; {_SCHEMA}."


def _missing_path(message: str) -> str:
    found = re.search(r"Path does not exist: (\S[^\n]*?)[.;]?(?: SQLSTATE|$)", message, re.M)
    where = f" {_path(found[1])};" if found else ""
    return f"A path your queries read does not exist:{where} read from results_dir/stream/input/<kind>."


def _duplicated(message: str) -> str:
    found = re.search(rf"The column ({_NAME}) already exists|Found duplicate column\(s\)[^:\n]*: ([^\n;]+)", message)
    names = "" if not found else _name(found[1]) if found[1] else _names(found[2].rstrip(". "))
    head = f"The output has more than one column named {names}" if names else "The output has columns of the same name"
    return f"{head}: both sides of the join have id, uuid, timestamp...; prefix each side's columns (acc_*, loc_*) so the output can be read back."


def _sink_mode(message: str) -> str:
    found = (re.search(r"output mode: (?P<mode>\w+)\. This output mode is not supported in Data Source (?P<sink>\w+)", message)
             or re.search(r"Data source (?P<sink>\w+) does not support (?P<mode>\w+) output mode", message))
    sink, mode = (_clip(found["sink"], 40), f", not {_clip(found['mode'].lower(), 40)}") if found else ("parquet", "")
    return f"A {sink} file sink accepts only append mode{mode}: write the update-mode results with foreachBatch, appending each batch (README, 8.2b)."


def _join_mode(message: str) -> str:
    found = re.search(r"not supported in (\w+) output mode", message)
    mode = f", not {_clip(found[1].lower(), 40)}" if found else ""
    return f"A stream-stream join runs only in append mode{mode}: start the join as its own query with outputMode('append')."


def _outside(message: str) -> str:
    found = re.search(r"Mkdirs failed to create (\S+)|mkdir of (\S+) failed"  # Hadoop
                      r"|(?:Read-only file system|Permission denied): '([^'\n]+)'"  # Python
                      r"|(\S+) \((?:Read-only file system|Permission denied)\)", message)  # Java
    path = next((group for group in found.groups() if group), "") if found else ""
    where = f", to {_path(re.sub(r'/_temporary/.*', '', path))}" if path else ""
    return f"Your code wrote outside its results folder{where}: write only under results_dir (and its checkpoints there too)."


def _mismatch(message: str) -> str:
    found = re.search(r"""[Cc]annot resolve (["'])([^\n]+?)\1 due to data type mismatch:\s*([^\n]*)""", message)
    if not found:
        return "An expression combines data types that do not fit: check the column types against the schema in the README and cast where needed."
    reason = re.split(r"\s*SQLSTATE:|;", found[3])[0].rstrip(". ")
    if len(reason) > 160:  # mostly a list of the accepted types: keep what the input was
        however = re.search(r"however (.+? has the type \S+)", reason)
        reason = _clip(however[1], 160) if however else ""
    reason = f": {reason}" if reason else ""
    return f'The data types in "{_clip(found[2], 120)}" do not fit{reason}; check the column types against the schema in the README and cast where needed.'


Sentence = str | Callable[[str], str]

# The first rule whose pattern matches decides (re.S: a pattern may span the lines of a plan).
RULES: tuple[tuple[str, str | None, Sentence], ...] = (
    (r"STREAMING_OUTPUT_MODE\.UNSUPPORTED_DATASOURCE|does not support Update output mode", "8.2b", _sink_mode),
    (r"Append output mode not supported when there are streaming aggregations.*without watermark"
     r"|output mode: append\. This output mode is not supported for streaming aggregations without watermark", "8.2b",
     f"Append mode needs a watermark on an aggregation: add withWatermark('timestamp', '{WATERMARK}') and use update mode with foreachBatch."),
    (r"Complete output mode not supported when there are no streaming aggregations"
     r"|output mode: complete\. This output mode is not supported for no streaming aggregations", None,
     "Complete mode needs an aggregation: write the simple and joined outputs in append mode."),
    (r"(Stream-stream|stream-stream).*(outer|Outer).*join|(FullOuter|LeftOuter|RightOuter) join.*not supported without a watermark|STREAM_FAILED.*outer join", "8.2c",
     f"An outer stream-stream join needs withWatermark on both sides and a time-range condition, e.g. {JOIN_CONDITION}."),
    (r"join between two streaming DataFrames.*not supported in (Update|Complete) output mode|Join between two streaming DataFrame.*Update", "8.2c", _join_mode),
    (r"COLUMN_ALREADY_EXISTS|Found duplicate column", "8.2c", _duplicated),
    (r"PARQUET_TYPE_ILLEGAL.*NANOS|TIMESTAMP\(NANOS", None,
     "Spark 4 cannot read nanosecond timestamps: write parquet with coerce_timestamps='us' (or cast to datetime64[us, UTC])."),
    (r"Invalid batch: [^!\n]*!= [^\n]*\bt#", None,
     "The schema changed after the query started: the t=SSS.S folders add a column t, so declare t (double) in your schema or read with option('recursiveFileLookup', 'true')."),
    (r"Schema must be specified when creating a streaming source|UNABLE_TO_INFER_SCHEMA", None,
     "A streaming file source needs its schema up front: pass .schema(...) to readStream (README, For students)."),
    (r"checkpointLocation must be specified|CHECKPOINT_LOCATION", None,
     "Set option('checkpointLocation', ...) on every query, under results_dir (README, For students)."),
    (r"stream/staging/\S* does not exist|FileNotFoundException.*stream/staging/|(Path does not exist|FILE_NOT_EXIST)[^\n]*stream/staging/", None,
     "Your query reads results/stream/staging, where the feed only writes files before moving them: read from results_dir/stream/input/<kind>."),
    (r"PATH_NOT_FOUND|Path does not exist", None, _missing_path),
    (r"Read-only file system|Mkdirs failed|mkdir of \S+ failed|Permission denied", None, _outside),
    (r"Multiple streaming aggregations are not supported", "8.2b",
     "Only one streaming aggregation is allowed per query: compute the windowed mean with a single groupBy(window, uuid).agg(...)."),
    (r"Sorting is not supported on streaming DataFrames", None,
     "Streaming DataFrames cannot be sorted (except after an aggregation in complete mode): remove orderBy/sort."),
    # before the next one: Spark 3 words a type mismatch as "cannot resolve '...' due to data type mismatch"
    (r"DATATYPE_MISMATCH|due to data type mismatch", None, _mismatch),
    (r"UNRESOLVED_COLUMN|cannot resolve", None, _unresolved),
)


def translate(message: str) -> tuple[str | None, str]:
    """(part or None, one sentence) for a Spark or Python error message."""
    for pattern, part, sentence in RULES:
        if re.search(pattern, message, re.S):
            return part, sentence if isinstance(sentence, str) else sentence(message)
    first = next((line.strip() for line in message.splitlines() if line.strip()), "no message")
    first = re.sub(r"\s*SQLSTATE: \w+;?", "", first)
    return None, first[:300]


def part_of_query(sink: str | None, text: str) -> str | None:
    """Which 8.2 part a failing query belongs to, from its sink and its plan."""
    haystack = f"{sink or ''}\n{text}"
    for needle, part in (("stream-joined", "8.2c"), ("windowed", "8.2b"), ("simple", "8.2a")):
        if needle in haystack:
            return part
    if "Join" in haystack or "join" in haystack:
        return "8.2c"
    if "Aggregate" in haystack or "ForeachBatchSink" in haystack:
        return "8.2b"
    return None
