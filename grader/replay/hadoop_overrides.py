"""The jar first on the grading JVM's classpath, built from ``hadoop-overrides/`` beside it.

It holds what Spark's settings alone cannot change (``grader.replay.spark`` says what each is
worth): an empty ``yarn-default.xml``; Hadoop's ``core-default.xml`` and ``mapred-default.xml``
without what a local session never uses (``hadoop-overrides/trimmed-defaults.txt`` lists it);
and ``dsc650.grader.InProcessChmodLocalFileSystem``, the ``file:`` file system that sets
permissions without a ``chmod`` child process. The jar is kept in the repository, so a grading
machine needs no Java compiler; it records the digest of what it was built from (the sources,
and the default files of the installed Hadoop), and a test fails when that has changed since:
after a pyspark upgrade too. Rebuild it with ``python -m grader.replay.hadoop_overrides`` (needs
``javac``, of Java 17 or later).
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from grader.java import find_java

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "hadoop-overrides"
JAR = HERE / "hadoop-overrides.jar"
DIGEST_ENTRY = "dsc650/grader/sources.sha256"
STAMP = (1980, 1, 1, 0, 0, 0)  # every entry's date: the same sources give the same bytes
TRIMMED = SOURCES / "trimmed-defaults.txt"  # Hadoop's default files to copy, and the prefixes left out of each


def trimmed_prefixes() -> dict[str, tuple[str, ...]]:
    """Each default file named in ``trimmed-defaults.txt`` and the property prefixes it goes without."""
    prefixes: dict[str, list[str]] = {}
    for line in TRIMMED.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, prefix = line.split()
            prefixes.setdefault(name, []).append(prefix)
    return {name: tuple(found) for name, found in prefixes.items()}


def hadoop_defaults() -> dict[str, bytes]:
    """The default files ``trimmed-defaults.txt`` names, as the installed Hadoop client jar holds them."""
    import pyspark

    jars = sorted((Path(pyspark.__file__).parent / "jars").glob("hadoop-client-api-*.jar"))
    if len(jars) != 1:
        raise RuntimeError(f"expected one hadoop-client-api jar among pyspark's jars, found {len(jars)}")
    with zipfile.ZipFile(jars[0]) as archive:
        return {name: archive.read(name) for name in sorted(trimmed_prefixes())}


def trim(text: str, prefixes: tuple[str, ...]) -> str:
    """``text`` (a Hadoop configuration file) without the properties whose names start with a prefix."""

    def keep(block: re.Match[str]) -> str:
        name = re.search(r"<name>\s*(.*?)\s*</name>", block.group(0), re.S)
        return "" if name and name.group(1).startswith(prefixes) else block.group(0)

    kept = re.sub(r"[ \t]*<property>.*?</property>[ \t]*\n?", keep, text, flags=re.S)
    note = "<!-- Trimmed for grading by grader/replay/hadoop_overrides.py: see hadoop-overrides/trimmed-defaults.txt. -->\n"
    return re.sub(r"(<configuration[^>]*>)", lambda m: note + m.group(1), kept, count=1)


def sources_digest() -> str:
    """SHA-256 over every source file's path and bytes, and over the Hadoop default files it trims."""
    digest = hashlib.sha256()
    for path in sorted(p for p in SOURCES.rglob("*") if p.is_file()):
        digest.update(path.relative_to(SOURCES).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    for name, original in hadoop_defaults().items():
        digest.update(b"hadoop:" + name.encode() + b"\0" + original + b"\0")
    return digest.hexdigest()


def built_digest(jar: Path = JAR) -> str | None:
    """The digest the jar was built from, or None for a jar without one."""
    with zipfile.ZipFile(jar) as archive:
        return archive.read(DIGEST_ENTRY).decode().strip() if DIGEST_ENTRY in archive.namelist() else None


def _javac() -> Path:
    found = find_java().resolve().parent / "javac"
    if found.is_file():
        return found
    on_path = shutil.which("javac")
    if on_path is None:
        raise SystemExit("javac not found: the jar needs a JDK (17 or later) to be rebuilt")
    return Path(on_path)


def build(jar: Path = JAR) -> Path:
    """Compile the Java sources against pyspark's jars (for Java 17) and write the jar."""
    import pyspark

    classpath = str(Path(pyspark.__file__).parent / "jars" / "*")
    sources = [p for p in SOURCES.rglob("*") if p.is_file()]
    java = sorted(p for p in sources if p.suffix == ".java")
    with tempfile.TemporaryDirectory() as scratch:
        classes = Path(scratch)
        subprocess.run([str(_javac()), "--release", "17", "-nowarn", "-cp", classpath, "-d", str(classes),
                        *map(str, java)], check=True)
        # Every source but the Java ones and the trimming list goes in as it is, as the digest covers every source.
        entries = {p.relative_to(SOURCES).as_posix(): p.read_bytes() for p in sources if p.suffix != ".java" and p != TRIMMED}
        prefixes = trimmed_prefixes()
        entries |= {name: trim(original.decode("utf-8"), prefixes[name]).encode("utf-8")
                    for name, original in hadoop_defaults().items()}
        entries |= {p.relative_to(classes).as_posix(): p.read_bytes() for p in classes.rglob("*.class")}
        entries[DIGEST_ENTRY] = (sources_digest() + "\n").encode()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for name in sorted(entries):
                archive.writestr(zipfile.ZipInfo(name, STAMP), entries[name], zipfile.ZIP_DEFLATED)
    jar.write_bytes(buffer.getvalue())
    return jar


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else JAR))
