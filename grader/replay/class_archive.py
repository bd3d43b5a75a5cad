"""A class-data-sharing archive for the grading JVMs: about 4 s less per grading.

Each grading starts a JVM that loads, parses and verifies thousands of Spark and Hadoop classes:
most of the session's 5 s start and much of the first step's warm-up. A dynamic CDS archive of
those classes, made once per virtual environment, lets every later JVM map them instead
(measured on the fixtures: the queries child 19.3 -> 14.3 s; the README's "Speed" has more).

Trust: the JVM loads an archive's classes without verifying them again, so an archive is code.
Only the grader makes one: ``python -m grader.replay.class_archive OUT`` replays the reference solution
on the bundled fixtures in a process of its own, outside the sandbox, never in a child that runs
student code. It lives in the virtual environment (``<prefix>/var/dsc650-grader/``), which a
confined child sees read-only; it is built under a lock and renamed into place whole.

Its name hashes what it depends on (the Java install, pyspark's jars, the JVM options, the
classpath jar), so a changed install gets a new one. The JVM checks the same again and, on any
mismatch, starts without it: silently (CDS logging off), so no JVM warning reaches feedback.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from grader import paths

BUILD_SECONDS = 600.0
_disabled = False


def folder() -> Path:
    """Where archives live: inside the virtual environment, which children see read-only."""
    return Path(sys.prefix) / "var" / "dsc650-grader"


def use_options(archive: Path) -> str:
    """JVM options that map ``archive``; a stale or unreadable one is skipped without a word."""
    return f"-XX:SharedArchiveFile={archive} -Xlog:cds=off,cds+dynamic=off"


@functools.cache
def _fingerprint() -> str:
    """What an archive depends on, hashed: a JVM with any of it changed cannot map the archive."""
    import pyspark

    from grader.java import find_java
    from grader.replay.spark import HADOOP_OVERRIDES, JVM_OPTIONS

    java = find_java().resolve()
    release = java.parent.parent / "release"
    jars = Path(pyspark.__file__).parent / "jars"
    facts = {
        "java": str(java),
        "release": release.read_text(errors="replace") if release.is_file() else "",
        "pyspark": pyspark.__version__,
        "jars": sorted((e.name, e.stat().st_size, e.stat().st_mtime_ns) for e in os.scandir(jars)) if jars.is_dir() else [],
        "classpath": [str(HADOOP_OVERRIDES), HADOOP_OVERRIDES.stat().st_size, HADOOP_OVERRIDES.stat().st_mtime_ns],
        "options": JVM_OPTIONS,
    }
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:20]


def path() -> Path:
    return folder() / f"jvm-{_fingerprint()}.jsa"


def disable() -> None:
    """Grade without an archive in this process (``grader grade --no-class-archive``)."""
    global _disabled
    _disabled = True


def current() -> Path | None:
    """This machine's archive for the installed Java and pyspark, if one has been built."""
    if _disabled:
        return None
    try:
        archive = path()
    except Exception:  # no Java (the grading says so itself), an unreadable install
        return None
    return archive if archive.is_file() else None


def ensure(say: Callable[[str], None] = lambda line: print(line, file=sys.stderr)) -> Path | None:
    """This machine's archive, built first if there is none (about 40 s, once per virtual
    environment). Never raises: without an archive grading is only slower, and ``say`` says why.
    The student edition builds none: it has no reference solution to build one from."""
    found = current()
    if _disabled or found or paths.REFERENCE is None:
        return found
    try:
        target = path()
        folder().mkdir(parents=True, exist_ok=True)
        with open(folder() / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # another grader on this machine may be building it
            if target.is_file():
                return target
            for partial in folder().glob(".jvm-*.jsa.*"):
                partial.unlink(missing_ok=True)  # an interrupted build's (only the lock's holder builds)
            say(f"Building the JVM class archive for this install (once; about 40 s): {target}")
            began = time.monotonic()
            build(target)
            say(f"Built the JVM class archive in {time.monotonic() - began:.0f} s "
                f"({target.stat().st_size / 2**20:.0f} MiB); each grading's JVM now starts faster.")
            for old in folder().glob("jvm-*.jsa"):
                if old != target:
                    old.unlink(missing_ok=True)  # a JVM that still maps it keeps its pages
            return target
    except Exception as error:
        say(f"Grading without a JVM class archive (each grading takes about 4 s longer): {error}")
        return None


def build(target: Path) -> None:
    """Run the dump in a process of its own and move the finished archive to ``target``."""
    from grader.sandbox.isolation import child_env

    with tempfile.TemporaryDirectory(prefix="dsc650-cds-") as scratch:
        home, tmp, dump = Path(scratch, "home"), Path(scratch, "tmp"), target.with_name(f".{target.name}.{os.getpid()}")
        home.mkdir()
        tmp.mkdir()
        try:
            try:
                done = subprocess.run([paths.PYTHON, "-P", "-m", "grader.replay.class_archive", str(dump)], cwd=scratch,
                                      env=child_env(home, tmp), capture_output=True, text=True, timeout=BUILD_SECONDS)
            except subprocess.TimeoutExpired as timeout:
                _wait_for(timeout.stdout, kill=True)
                raise RuntimeError(f"the build took over {BUILD_SECONDS:.0f} s") from None
            _wait_for(done.stdout)
            if done.returncode != 0:
                tail = (done.stderr.strip() or done.stdout.strip()).splitlines()[-3:]
                raise RuntimeError(f"the build exited with status {done.returncode}: {' | '.join(tail)}")
            if not dump.is_file() or dump.stat().st_size < 2**20:
                raise RuntimeError("the JVM exited without writing an archive (is Java's own CDS archive missing?)")
            dump.chmod(0o444)
            os.replace(dump, target)
        finally:
            dump.unlink(missing_ok=True)


def _wait_for(stdout: str | bytes | None, kill: bool = False) -> None:
    """The JVM writes the archive as it exits, after the Python that started it has gone: wait
    for the JVM the build named on its first line (or kill it: a half-written archive is junk)."""
    text = stdout.decode(errors="replace") if isinstance(stdout, bytes) else stdout or ""
    first = text.split("\n", 1)[0].split()
    if len(first) != 2 or first[0] != "jvm" or not first[1].isdigit():
        return
    try:
        jvm = psutil.Process(int(first[1]))
        if kill:
            jvm.kill()
        jvm.wait(timeout=BUILD_SECONDS)
    except (psutil.NoSuchProcess, psutil.TimeoutExpired):
        pass


def _dump(out: Path) -> int:
    """The build itself: the reference's replay on the fixtures, in a JVM that archives at exit."""
    from grader.contract import START
    from grader.fixtures import generate
    from grader.replay.driver import run_queries
    from grader.replay.spark import session

    with tempfile.TemporaryDirectory(prefix="dsc650-cds-replay-") as scratch:
        work = Path(scratch)
        data = paths.BUNDLED_DATA if paths.BUNDLED_DATA.is_dir() else generate(work / "data", 0)
        spark = session(work / "spark", app="dsc650-class-archive", java_options=f"-XX:ArchiveClassesAtExit={out}")
        print("jvm", spark._jvm.java.lang.ProcessHandle.current().pid(), flush=True)
        failures: list[dict] = []
        run_queries(spark, paths.reference(), data, work / "results", work / "observed", START,
                    lambda record: failures.append(record) if "error" in record else None)
        spark.stop()  # the JVM dumps once this process has exited and closed its pipe
    if failures:
        print(f"the reference failed while building: {failures[0]['error']}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(_dump(Path(sys.argv[1])))
