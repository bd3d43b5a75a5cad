"""Find a Java that Spark 4 can run on, or say in one sentence what to install."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

SUPPORTED = (17, 21)
INSTALL_HINT = (
    "Spark 4 needs Java 17 or 21 and {found}: install a JDK "
    "(Debian/Ubuntu: `sudo apt-get install openjdk-17-jre-headless`; macOS: `brew install openjdk@17`) "
    "and make `java` reachable on PATH or through JAVA_HOME."
)


class JavaMissing(RuntimeError):
    """No usable Java: the message is the one sentence to show."""


def find_java() -> Path:
    """The java binary Spark will launch (JAVA_HOME first, as spark-submit does)."""
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    on_path = shutil.which("java")
    if on_path:
        return Path(on_path)
    found = f"JAVA_HOME ({home}) has no bin/java and none is on PATH" if home else "none was found on PATH"
    raise JavaMissing(INSTALL_HINT.format(found=found))


def java_version(java: Path) -> int:
    out = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=60)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not match:
        raise JavaMissing(INSTALL_HINT.format(found=f"`{java} -version` did not print a version"))
    major = int(match.group(1))
    return int(match.group(2)) if major == 1 and match.group(2) else major


def require_java() -> int:
    """The Java major version; raises JavaMissing with the one sentence to print."""
    java = find_java()
    major = java_version(java)
    if major < SUPPORTED[0]:
        raise JavaMissing(INSTALL_HINT.format(found=f"{java} is Java {major}"))
    return major
