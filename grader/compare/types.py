"""Each compared column's type against the contract's, before any value is compared.

A wrong type is the student's to fix, said in one sentence ("window_start holds integers (epoch
seconds?); write timestamps"); an equivalent form (a decimal or an integer where a double is
expected) is accepted and named, like the other equivalent forms.
"""

from __future__ import annotations

from grader.dataset import SCHEMAS
from grader.tables import kind_of

# The contract's kind of each canonical column: the data's schema, and the windowed output's.
_BASE = {name: kind_of(f.type) for schema in SCHEMAS.values() for name, f in zip(schema.names, schema)}
_BASE |= {"window_start": "timestamp", "window_end": "timestamp", "mean_speed": "float"}
EQUIVALENT = {"float": {"decimal", "integer"}}  # accepted, and named in the feedback
HINTS = {
    ("timestamp", "integer"): "integers (epoch seconds?); write timestamps (window.start, not a cast to long)",
    ("timestamp", "float"): "numbers (epoch seconds?); write timestamps",
    ("timestamp", "string"): "strings; write timestamps (no cast to string or date_format)",
    ("float", "string"): "strings; write numbers (avg() gives a double; no cast to string or format_number)",
}


def contract_kind(canonical: str) -> str | None:
    """The kind a canonical column must have (``acc_x``'s is ``x``'s)."""
    base = canonical.split("_", 1)[1] if canonical.startswith(("acc_", "loc_")) else canonical
    return _BASE.get(base)


def check_kinds(found: dict[str, str], kinds: dict[str, set[str]]) -> tuple[list[str], list[str]]:
    """(problems, notes) for the student's columns ``found`` (canonical -> theirs) of ``kinds``."""
    problems, notes = [], []
    for canonical, theirs in found.items():
        wanted = contract_kind(canonical)
        have = kinds.get(theirs, set()) - {"null", wanted}  # an all-null column holds no wrong value
        if wanted is None or not have:
            continue
        accepted = have & EQUIVALENT.get(wanted, set())
        if accepted:
            notes.append(f"read `{theirs}`'s {' and '.join(sorted(accepted))} values as numbers")
        for kind in sorted(have - accepted):
            hint = HINTS.get((wanted, kind), f"{kind} values; write {wanted}s")
            problems.append(f"{theirs} holds {hint}")
    return problems, notes
