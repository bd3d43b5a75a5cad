#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu 22.04). It
# installs Java 17 (Spark 4 needs 17 or 21), a Python 3.11+ and this grader from the bundled
# source into $VENV (editable: the grader finds its fixtures and goldens next to its code), then
# `grader gradescope setup` checks the image and prepares it for untrusted code: it builds the JVM
# class archive, creates the sandbox users student code runs as, makes the goldens unreadable to
# them, and removes the reference solution, which grading never needs. A broken image fails here,
# not on every submission.
set -euxo pipefail
SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"  # /autograder/source on Gradescope
VENV="${DSC650_GRADER_VENV:-/opt/dsc650-grader}"
export DEBIAN_FRONTEND=noninteractive

apt-get update
apt-get install -y --no-install-recommends openjdk-17-jre-headless ca-certificates passwd util-linux iproute2

new_enough() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }
PYTHON=""
for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null && new_enough "$candidate"; then
        PYTHON="$(command -v "$candidate")"
        break
    fi
done
if [ -z "$PYTHON" ]; then
    # Ubuntu 22.04 has python3.11 in universe; older releases need the deadsnakes PPA.
    if ! apt-get install -y --no-install-recommends python3.11 python3.11-venv; then
        apt-get install -y --no-install-recommends software-properties-common
        add-apt-repository -y ppa:deadsnakes/ppa
        apt-get update
        apt-get install -y --no-install-recommends python3.11 python3.11-venv
    fi
    PYTHON=/usr/bin/python3.11
fi
if ! "$PYTHON" -m venv "$VENV"; then  # Debian and Ubuntu ship venv's ensurepip separately
    VERSION="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    apt-get install -y --no-install-recommends "python$VERSION-venv"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --no-cache-dir --upgrade pip
"$VENV/bin/python" -m pip install --no-cache-dir -e "$SOURCE"

JAVA_HOME="$(find /usr/lib/jvm -maxdepth 1 -name 'java-17-openjdk-*' | sort | head -n 1)"
echo "export JAVA_HOME=$JAVA_HOME" > "$VENV/grader.env"
export JAVA_HOME
"$VENV/bin/grader" gradescope setup --remove-reference
