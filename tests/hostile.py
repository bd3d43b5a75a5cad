"""A hostile corpus, generated: copies of the reference solution with hostile changes.

Each submission pairs one hostile change to ``stream_data.py`` (run by the feed child) with one
to ``stream_queries.py`` (run by the queries child), or none: the two parts run in separate
children, so each change is judged on its own part, and pairing halves the JVM start-ups. Every
submission breaks at least one part, so only the untouched reference may earn full marks.

Everything the corpus writes or starts carries ``tag`` (in the file name or its content, in a
process's command line), so the test can look for it afterwards without confusing it with the
work of other gradings running on the same machine.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from grader.paths import REFERENCE

FUTURE = "from __future__ import annotations\n"
MAIN_BODY = "    data_dir, results_dir = Path(data_dir), Path(results_dir)\n"
START_QUERIES_BODY = "    results = Path(results_dir)\n"
FOREACH_WRITE = '        batch.withColumn("batch_id", F.lit(batch_id)).write.mode("append").parquet(str(output / "windowed"))\n'

# How a student finds the grader's project folder from inside the sandbox.
FIND_PROJECT = "import grader as _grader\n_PROJECT = __import__('pathlib').Path(_grader.__file__).resolve().parent.parent\n"
ORPHAN = (
    "import subprocess as _sp\n"
    "_sp.Popen(['sleep', {sleep!r}], start_new_session=True, stdout=_sp.DEVNULL, stderr=_sp.DEVNULL)\n"
)
# Fork, new session, fork again, exec with an empty environment (no grader marker): the grandchild
# keeps trying to write outside the sandbox for ten minutes.
DAEMON_LOOP = (
    "import sys, time, pathlib\n"
    "tag = sys.argv[1]\n"
    "end = time.time() + 600\n"
    "while time.time() < end:\n"
    "    for folder in ('/tmp', str(pathlib.Path('~root').expanduser())):\n"
    "        try:\n"
    "            pathlib.Path(folder, tag + '-daemon').write_text(tag)\n"
    "        except OSError:\n"
    "            pass\n"
    "    time.sleep(0.2)\n"
)
DAEMON = (
    "import os as _os, sys as _sys\n"
    "if _os.fork() == 0:\n"
    "    _os.setsid()\n"
    "    if _os.fork() == 0:\n"
    "        _os.execve(_sys.executable, [_sys.executable, '-c', {loop!r}, {tag!r}], {{}})\n"
    "    _os._exit(0)\n"
    "_os.wait()\n"
)
PRINT_200MB = "for _ in range(200):\n    print('x' * (2**20 - 1))\n"
REAL_HOME = "import pwd as _pwd, os as _os2\n_HOME = _pwd.getpwuid(_os2.getuid()).pw_dir\n"


@dataclass(frozen=True)
class Change:
    """One hostile change to one file, and what the feedback must then say about that part."""

    name: str
    edit: Callable[[str], str]
    says: tuple[str, ...] = ()  # regexes, each found in that part's check output
    notes: tuple[str, ...] = ()  # regexes, each found in the submission's notes
    breaks: bool = True  # the part loses points
    killed: bool = False  # the part waits out the time limit


@dataclass(frozen=True)
class Submission:
    student: str
    feed: Change | None = None
    queries: Change | None = None
    hang: bool = field(default=False)

    def write(self, root: Path) -> Path:
        folder = root / f"assignment08_{self.student}"
        shutil.copytree(REFERENCE, folder, ignore=shutil.ignore_patterns("__pycache__", "results"))
        for name, change in (("stream_data.py", self.feed), ("stream_queries.py", self.queries)):
            if change is not None:
                path = folder / name
                path.write_text(change.edit(path.read_text()))
        return folder


def at_import(code: str) -> Callable[[str], str]:
    return lambda source: source.replace(FUTURE, FUTURE + code, 1)


def after(anchor: str, code: str, indent: str = "    ") -> Callable[[str], str]:
    body = "".join(f"{indent}{line}\n" for line in code.splitlines())
    return lambda source: _must(source, anchor).replace(anchor, anchor + body, 1)


def replace(old: str, new: str) -> Callable[[str], str]:
    return lambda source: _must(source, old).replace(old, new, 1)


def _must(source: str, anchor: str) -> str:
    assert anchor in source, f"the reference changed: {anchor!r} is gone"
    return source


def import_line(name: str) -> int:
    """The line ``at_import`` code starts on in the reference's ``name``."""
    lines = (REFERENCE / name).read_text().splitlines(keepends=True)
    return lines.index(FUTURE) + 2


def raised(kind: str, message: str, name: str) -> str:
    """The pattern of an error's root cause: ``Kind at file line N (in f): message``."""
    return rf"{kind} at {re.escape(name)} line \d+( \(in [^)]*\))?: {message}"


def syntax_error(name: str) -> Change:
    line = import_line(name)
    return Change(f"syntax error in {name}", at_import("def broken(:\n    pass\n"),
                  says=(rf"SyntaxError at {re.escape(name)} line {line}\b",))


def corpus(tag: str, sleep: str) -> list[Submission]:
    """The main batch: nothing here waits out a time limit."""
    find = FIND_PROJECT
    pwned = f"raise SystemExit({tag!r})"
    rofs = r"Read-only file system|No such file or directory|Permission denied|wrote outside its results folder"
    feed_print = Change("200 MB printed to stdout", at_import(PRINT_200MB), notes=(r"feed: [\d,]+ bytes of output were cut",), breaks=False)
    queries_print = Change("200 MB printed to stdout", at_import(PRINT_200MB), notes=(r"queries: [\d,]+ bytes of output were cut",), breaks=False)
    leftover = r"{}: 1 process\(es\) your code started were still running when this part ended; the grader stopped them"
    return [
        Submission("Syntax", syntax_error("stream_data.py"), syntax_error("stream_queries.py")),
        Submission("SysExit",
                   Change("sys.exit(3) at import", at_import("import sys\nsys.exit(3)\n"), says=(raised("SystemExit", "3", "stream_data.py"),)),
                   Change("sys.exit(3) at import", at_import("import sys\nsys.exit(3)\n"), says=("could not be imported: " + raised("SystemExit", "3", "stream_queries.py"),))),
        Submission("BareExit",
                   Change("sys.exit() at import", at_import("import sys\nsys.exit()\n"), says=(raised("SystemExit", r"\(raised without a message\)", "stream_data.py"),)),
                   Change("raise ValueError at import", at_import("raise ValueError\n"), says=("could not be imported: " + raised("ValueError", r"\(raised without a message\)", "stream_queries.py"),))),
        Submission("OsExit",
                   Change("os._exit(0) at import", at_import("import os\nos._exit(0)\n"), says=(r"ended \(exit 0\) before reporting",)),
                   Change("os._exit(0) at import", at_import("import os\nos._exit(0)\n"), says=(r"ended \(exit 0\) before the replay finished",))),
        Submission("Alloc40G",
                   Change("bytearray(40 GiB) at import", at_import("_hog = bytearray(40 * 2**30)\n"), says=(raised("MemoryError", "out of memory", "stream_data.py"),)),
                   Change("bytearray(40 GiB) at import", at_import("_hog = bytearray(40 * 2**30)\n"), says=("could not be imported: " + raised("MemoryError", "out of memory", "stream_queries.py"),))),
        Submission("MemorySteps",
                   Change("256 MiB at a time, touched, until it fails", at_import("_hog = []\nwhile True:\n    _hog.append(b'x' * 2**28)\n"),
                          says=(raised("MemoryError", "out of memory", "stream_data.py") + "|more memory than the limit allows",)),
                   queries_print),
        Submission("ForkMemory",
                   Change("six children holding 1 GiB each", at_import(
                       "import subprocess as _sp, sys as _sys\n"
                       f"_kids = [_sp.Popen([_sys.executable, '-c', 'import time; x = b\"x\" * 2**30; time.sleep(1000)', {tag!r}]) for _ in range(6)]\n"
                       "for _kid in _kids:\n    _kid.wait()\n"),
                       says=(r"more memory than the limit allows",), notes=(r"feed: stopped at [\d.]+ GiB of memory; the limit is",)),
                   Change("copies the reference's source", at_import(find + "exec((_PROJECT / 'solution' / 'assignment08' / 'stream_queries.py').read_text())\n"),
                          says=(r"could not be imported: FileNotFoundError",))),
        Submission("ManyProcesses",
                   Change("a hundred sleeping children", at_import(
                       "import subprocess as _sp\n"
                       f"_kids = [_sp.Popen(['sleep', {sleep!r}]) for _ in range(100)]\n"
                       "for _kid in _kids:\n    _kid.wait()\n"),
                       says=(r"more processes than the limit allows",), notes=(r"feed: stopped with \d+ processes running; the limit is",)),
                   Change("digs the goldens out of .git", at_import(find + "_objects = sorted((_PROJECT / '.git' / 'objects').rglob('*'))\nassert _objects, 'no git objects'\n"),
                          says=("could not be imported: " + raised("AssertionError", "no git objects", "stream_queries.py"),))),
        Submission("PrintAndCopy", feed_print,
                   Change("imports the reference solution", lambda _: "from solution.assignment08.stream_queries import *  # noqa: F403\n",
                          says=(r"could not be imported: (ModuleNotFoundError|FileNotFoundError|ImportError)",))),
        Submission("SleepForever",
                   Change("time.sleep(10**9) in main", after(MAIN_BODY, "time.sleep(10**9)"), says=(r"FeedOverrun", r"past the replay's end")),
                   Change("orphan `sleep` in a new session", at_import(ORPHAN.format(sleep=sleep)), notes=(leftover.format("queries"),), breaks=False)),
        Submission("OrphanAndGoldens",
                   Change("orphan `sleep` in a new session", at_import(ORPHAN.format(sleep=sleep)), notes=(leftover.format("feed"),), breaks=False),
                   Change("reads the goldens", at_import(find + "_golden = (_PROJECT / 'fixtures' / 'expected' / 'joined.parquet').read_text()\n"),
                          says=(r"could not be imported: FileNotFoundError",))),
        Submission("DaemonAndSinkIntoGoldens",
                   Change("double-forked daemon", at_import(DAEMON.format(loop=DAEMON_LOOP, tag=tag)), notes=(leftover.format("feed"),), breaks=False),
                   Change("a Spark write into the grader package", after(START_QUERIES_BODY, find + "spark.range(1).write.mode('overwrite').json(str(_PROJECT / 'grader' / 'spark-out'))"),
                          says=(r"start_queries raised",))),
        Submission("WriteGraderAndDaemon",
                   Change("writes a module into grader/", at_import(find + f"(_PROJECT / 'grader' / '{tag}.py').write_text({pwned!r})\n"), says=(rofs,)),
                   Change("double-forked daemon", at_import(DAEMON.format(loop=DAEMON_LOOP, tag=tag)), notes=(leftover.format("queries"),), breaks=False)),
        Submission("WriteFixturesAndHome",
                   Change("writes into fixtures/data", at_import(find + f"(_PROJECT / 'fixtures' / 'data' / '{tag}.parquet').write_text({tag!r})\n"), says=(rofs,)),
                   Change("writes into the real HOME", at_import(REAL_HOME + f"open(_HOME + '/{tag}-queries', 'w').write({tag!r})\n"), says=(rofs,))),
        Submission("OverwriteGoldensAndGrader",
                   Change("overwrites the goldens", at_import(find + f"(_PROJECT / 'fixtures' / 'expected' / 'joined.parquet').write_text({tag!r})\n"), says=(rofs,)),
                   Change("appends to grader/__init__.py", at_import(find + f"open(_PROJECT / 'grader' / '__init__.py', 'a').write('# {tag}')\n"), says=(rofs,))),
        Submission("HomeAndTmp",
                   Change("writes into the real HOME", at_import(REAL_HOME + f"open(_HOME + '/{tag}-feed', 'w').write({tag!r})\n"), says=(rofs,)),
                   Change("writes into /tmp", at_import(f"open('/tmp/{tag}-queries', 'w').write({tag!r})\n"), breaks=False)),
        Submission("TmpAndGoldens",
                   Change("writes into /tmp", at_import(f"open('/tmp/{tag}-feed', 'w').write({tag!r})\n"), breaks=False),
                   Change("overwrites the goldens", at_import(find + f"(_PROJECT / 'fixtures' / 'expected' / 'joined.parquet').write_text({tag!r})\n"), says=(rofs,))),
        Submission("ReadGoldens",
                   Change("reads the goldens", at_import(find + "_golden = (_PROJECT / 'fixtures' / 'expected' / 'joined.parquet').read_text()\n"),
                          says=(r"FileNotFoundError",))),
        Submission("FillDisk",
                   Change("writes 256 MiB files without end", after(MAIN_BODY, "_chunk = b'x' * 2**28\nfor _n in range(10**6):\n    (results_dir / f'fill-{_n}').write_bytes(_chunk)"),
                          says=(r"wrote more bytes of files than the limit allows",),
                          notes=(r"feed: stopped after writing [\d.]+ GiB of files; the limit is 2 GiB",)),
                   Change("creates empty files without end", after(START_QUERIES_BODY, "for _n in range(10**7):\n    (results / f'f{_n}').touch()"),
                          says=(r"created more files than the limit allows",),
                          notes=(r"queries: stopped after creating [\d,]+ files and folders; the limit is 100,000",))),
        Submission("OverwriteData",
                   Change("overwrites the data it was given", after(MAIN_BODY, f"for _f in sorted(data_dir.rglob('*.parquet')):\n    _f.write_text({tag!r})"),
                          says=(r"Read-only file system",))),
    ]


def hanging(limit_seconds: float) -> list[Submission]:
    """The short batch: every part here runs until the time limit stops it."""
    stopped = (rf"stopped after {limit_seconds:g} s, the time limit for this part",)
    return [
        Submission("LoopAtImport",
                   Change("while True: pass at import", at_import("while True:\n    pass\n"), says=stopped, killed=True),
                   Change("while True: pass at import", at_import("while True:\n    pass\n"), says=stopped, killed=True), hang=True),
        Submission("SpinAndHangingBatch",
                   Change("spins without reading the clock", after(MAIN_BODY, "while True:\n    x = 1"), says=stopped, killed=True),
                   Change("foreachBatch that never returns", replace(FOREACH_WRITE, "        import threading\n        threading.Event().wait()\n"),
                          says=stopped, killed=True), hang=True),
    ]
