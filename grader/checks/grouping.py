"""8.2b's most common real mistake, named: the windowed query grouped by a column besides the
window and the route (students of the course's Kafka variant grouped by speed too).

Such a query writes several rows for one window and route in one batch; compared by its final
values it only looks like wrong means. This finds the repeated rows and, where the values show
it (each row's mean is one speed of that window), names the extra column.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from grader.checks.base import short
from grader.compare.rows import PRECISION
from grader.contract import WINDOW
from grader.outputs import SinkRows
from grader.tables import Row

Speeds = dict[tuple[str, str], list[float]]  # (window start, route) -> every speed of its rows


def _where(row: Row) -> str:
    return f"window {str(row.get('window_start'))[11:19]}–{str(row.get('window_end'))[11:19]} of route {short(row.get('uuid'))}"


def _one_speed_each(groups: list[list[Row]], speeds: Speeds) -> bool:
    """Whether every repeated row's mean is itself one speed of its window: grouped by speed."""
    for group in groups:
        values = speeds.get((str(group[0]["window_start"]), str(group[0]["uuid"])), [])
        for row in group:
            mean = row.get("mean_speed")
            if not isinstance(mean, int | float) or not any(abs(mean - v) <= PRECISION for v in values):
                return False
    return True


def several_rows(rows: SinkRows, speeds: Callable[[], Speeds]) -> list[str]:
    """One hint line when some batch holds several rows for one (window, route), else none.
    ``speeds`` is called only then (it reads the dataset)."""
    groups: dict[tuple, list[Row]] = defaultdict(list)
    for row in rows.rows:
        groups[(row.get("index"), row.get("batch_id"), row.get("window_start"), row.get("window_end"), row.get("uuid"))].append(row)
    repeated = [g for g in groups.values() if len(g) > 1]
    if not repeated:
        return []
    first = repeated[0]
    extra = [c for c in rows.extra if c not in ("window", "batch_id")]
    if _one_speed_each(repeated, speeds()):
        column = "speed (each row's mean_speed is one speed value of its window)"
    elif extra:
        column = f"{', '.join(extra)} (a column of your output besides the contract's)"
    else:
        column = "a column your output does not show"
    return [f"Your output has several rows for one window and route in one batch ({len(repeated)} windows, e.g. "
            f"{_where(first[0])}: {len(first)} rows): the query groups by another column too, {column}. "
            f"Group by the window and the route only: groupBy(window('timestamp', '{WINDOW}'), 'uuid')."]
