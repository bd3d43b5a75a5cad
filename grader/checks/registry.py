"""Every check, collected from the check modules: the rubric's ids are the ones found here."""

from __future__ import annotations

from types import ModuleType

from grader.checks import feed, joined, simple, windowed
from grader.checks.base import CheckFunction

MODULES: tuple[ModuleType, ...] = (feed, simple, windowed, joined)


def _collect() -> dict[str, CheckFunction]:
    found: dict[str, CheckFunction] = {}
    for module in MODULES:
        for value in vars(module).values():
            check_id = getattr(value, "check_id", None)
            if isinstance(check_id, str) and getattr(value, "__module__", None) == module.__name__:
                if check_id in found:
                    raise RuntimeError(f"two checks claim {check_id}")
                found[check_id] = value
    return found


CHECKS = _collect()
CHECK_IDS = frozenset(CHECKS)
