"""Where the grader really runs, reproduced on this machine (as root): a command line that runs a
command as Gradescope's Docker would (root without CAP_SYS_ADMIN) or as a normal user would (a
laptop, a CI runner's user).

Both need the grader's Python to be reachable by other users, as it is on Gradescope (/usr/bin,
a venv in /opt) or a CI runner; where it is not (here: pyenv under /root, mode 0700), the command
runs in a private mount namespace in which the folder that blocks it is replaced by one that
holds only the Python install, so nothing of the real machine changes.
"""

from __future__ import annotations

import os
import shlex
import stat
import sys
from pathlib import Path

NOBODY = 65534


def _blocking_folder() -> tuple[Path, Path] | None:
    """(the first folder above the interpreter others may not search, its child on the way), if any."""
    base = Path(sys.base_prefix).resolve()
    for depth in range(1, len(base.parts) - 1):
        folder = Path(*base.parts[: depth + 1])
        if not os.stat(folder).st_mode & stat.S_IXOTH:
            return folder, Path(*base.parts[: depth + 2])
    return None


def _expose_python() -> str:
    """sh lines that make the interpreter reachable inside a private mount namespace."""
    found = _blocking_folder()
    if found is None:
        return ""
    folder, child = (shlex.quote(str(p)) for p in found)
    return (f"mkdir -p /mnt/dsc650-python && mount --bind {child} /mnt/dsc650-python && "
            f"mount -t tmpfs -o mode=0711 dsc650-sim {folder} && mkdir -m 0755 {child} && "
            f"mount --move /mnt/dsc650-python {child} && ")


def docker_like(command: str) -> list[str]:
    """``command`` as root without CAP_SYS_ADMIN (Docker's default profile: Gradescope)."""
    inner = f"exec capsh --drop=cap_sys_admin -- -c {shlex.quote(command)}"
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", "set -e; " + _expose_python() + inner]


def normal_user(command: str, home: Path, uid: int = NOBODY) -> list[str]:
    """``command`` as an unprivileged user (``home`` must be theirs, and so is their cache)."""
    env = f"env -u XDG_CACHE_HOME HOME={shlex.quote(str(home))} PATH={shlex.quote(os.environ.get('PATH', '/usr/bin:/bin'))}"
    inner = f"exec setpriv --reuid={uid} --regid={uid} --clear-groups {env} sh -c {shlex.quote(command)}"
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", "set -e; " + _expose_python() + inner]
