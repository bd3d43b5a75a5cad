"""A seeded generator of datasets with the course data's exact layout and schema, in three sizes.

``small`` (the committed ``fixtures/data``) fits every rule of the assignment into six steps:
routes start and stop at different steps, one route has accelerations but no locations in one
step (and the reverse in another), GPS rows without a fix (``speed = -1``), null ``id``s, rows
slightly out of order, and rows later than the watermark (``grader.contract``) that a correct solution drops.
``real`` has the same features at the course data's measured size and rhythm (34 irregular steps
over 121.4 s, 35 routes that come and go, about 23,500 acceleration and 480 location rows), so
the grader can be tried at full scale on data that may live in the project, as the course's may not.
``original`` has the shape of the course's original release, which instructors hold and grade on
(the tree in the assignment's brief): 106 steps 0.7 to 1.8 s apart over 128.8 s, 100 routes, about
196,000 acceleration and 3,900 location rows in some 6,400 files.
"""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import repeat
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from grader.contract import LATE_SECONDS
from grader.dataset import EPOCH, SCHEMAS, step_name

STORED_TIMESTAMP = datetime(1970, 1, 1, 0, 25, 3, tzinfo=EPOCH.tzinfo)  # meaningless, as in the real data


@dataclass(frozen=True)
class Shape:
    """Everything a dataset size decides, so ``generate`` is one code path for every size.

    Routes and steps are indices into ``route_steps`` and ``step_seconds``; a row index counts
    within one (kind, route, step) file, the out-of-order rows appended last.
    """

    step_seconds: tuple[float, ...]  # step times, which name the t=SSS.S folders
    step_span: float  # rows of step t have offsets in [t, t + step_span]
    acc_interval: float  # seconds between two acceleration rows of a route
    loc_interval: float  # seconds between two location rows of a route
    route_steps: tuple[frozenset[int], ...]  # route -> the contiguous run of steps it is present in
    no_locations: frozenset[tuple[int, int]]  # (route, step) with accelerations but no locations
    no_accelerations: frozenset[tuple[int, int]]  # (route, step) with locations but no accelerations
    disorder: tuple[tuple[str, int, int, float], ...]  # (kind, route, step, offset): a row out of order
    no_fix: tuple[tuple[int, int, int], ...]  # (route, step, row): location rows with speed = course = -1
    null_location_ids: tuple[tuple[int, int, int], ...]  # (route, step, row): location rows without an id
    null_id_every: int = 3  # acceleration rows 0, n, 2n... of each file have no id

    def __post_init__(self) -> None:
        """Refuse a shape whose holes or extra rows would add a file outside a route's run or fill
        a hole: the tests read the runs and the holes back from the files."""
        holes = {"locations": self.no_locations, "accelerations": self.no_accelerations}
        if self.no_locations & self.no_accelerations:
            raise ValueError(f"(route, step) pairs with neither kind: {self.no_locations & self.no_accelerations}")
        extra = [(k, r, s) for k, r, s, _ in self.disorder]
        extra += [("locations", r, s) for r, s, _ in self.no_fix + self.null_location_ids]
        for kind, route, step in extra + [(k, r, s) for k, pairs in holes.items() for r, s in pairs]:
            if step not in self.route_steps[route]:
                raise ValueError(f"{kind} of route {route} in step {step}: the route is not present there")
        for kind, route, step in extra:
            if (route, step) in holes[kind]:
                raise ValueError(f"{kind} of route {route} in step {step}: that is a hole")


_LAST = 63.0  # the small shape's last step
SMALL = Shape(
    # Wide gaps let the watermark pass whole windows between steps.
    step_seconds=(0.0, 8.5, 17.2, 26.4, 41.9, _LAST),
    step_span=3.8,
    acc_interval=0.4,
    loc_interval=1.9,
    route_steps=tuple(frozenset(s) for s in ({0, 1, 2, 3}, {0, 1, 2, 3, 4, 5}, {2, 3, 4, 5}, {1, 2, 3, 4})),
    no_locations=frozenset({(3, 3)}),
    no_accelerations=frozenset({(3, 4)}),
    # Within the watermark in step 2; in step 5 a row of each kind is LATE_SECONDS behind the
    # newest data (at 3.1 s and 3.3 s), so its window [0 s, 15 s) is already closed.
    disorder=(
        ("locations", 1, 2, 14.1),
        ("accelerations", 1, 2, 14.3),
        ("locations", 2, 5, 44.2),
        ("locations", 1, 5, _LAST - LATE_SECONDS + 0.1),
        ("accelerations", 1, 5, _LAST - LATE_SECONDS + 0.3),
    ),
    no_fix=((0, 1, 0), (2, 3, 1), (1, 4, 0)),
    null_location_ids=((1, 3, 0),),
)


def _irregular_steps(count: int, last: float) -> tuple[float, ...]:
    """``count`` step times from 0 to ``last``, gaps irregular like the course data's: a
    golden-ratio sequence spreads them over 2.6 to 5 s (before scaling) with no seed."""
    gaps = [2.6 + 2.4 * (i * 0.6180339887 % 1) for i in range(1, count)]
    scale, elapsed, times = last / sum(gaps), 0.0, [0.0]
    for gap in gaps:
        elapsed += gap * scale
        times.append(round(elapsed, 1))
    return tuple(times)


def _runs(routes: int, steps: int, shortest: int = 9, spread: int = 8) -> tuple[frozenset[int], ...]:
    """One contiguous run of steps per route: five from the first step, the others starting later
    and later, ``shortest`` to ``shortest + spread - 1`` steps long, so routes come and go
    throughout and only a few reach the end."""
    starts = [max(0, (r - 3) * (steps - shortest - 1) // (routes - 4)) for r in range(routes)]
    return tuple(frozenset(range(first, min(first + shortest + 3 * r % spread, steps))) for r, first in enumerate(starts))


def _real_shape() -> Shape:
    """The course data's size: 34 steps from 0 to 121.4 s, 35 routes, ~23,500 + ~480 rows."""
    runs = _runs(35, 34)
    no_locations = frozenset((r, min(run)) for r, run in enumerate(runs) if r % 2 == 0)  # no GPS fix yet
    located = sorted((r, s) for r, run in enumerate(runs) for s in run if (r, s) not in no_locations)
    return Shape(
        step_seconds=_irregular_steps(34, 121.4),
        step_span=1.5,
        acc_interval=0.027,  # ~56 rows a file, 420 files
        loc_interval=1.25,  # one or two rows a file: 1.2 on average
        route_steps=runs,
        no_locations=no_locations,
        no_accelerations=frozenset((r, max(run)) for r, run in enumerate(runs) if r % 5 == 4),
        # Step times: t=033.7 is step 9, 044.4 12, 072.8 20, 081.4 22, 088.9 24, 102.4 28, 121.4 33.
        # The first four lag 4 to 14 s, within the watermark; the last three lag 47 to 55 s, and
        # the newest earlier data is past their window's end + 30 s, so their window has closed.
        disorder=(
            ("accelerations", 7, 9, 20.5),
            ("locations", 10, 12, 40.2),
            ("accelerations", 18, 20, 62.0),
            ("locations", 25, 24, 75.5),
            ("locations", 13, 22, 26.1),
            ("accelerations", 21, 28, 48.3),
            ("locations", 29, 33, 74.0),
        ),
        no_fix=tuple((r, sorted(run)[1], 0) for r, run in enumerate(runs) if r % 9 == 4),
        null_location_ids=tuple((r, s, 0) for r, s in located if (r + s) % 3 == 0),  # about a third, as measured
    )


def _stepped_steps(count: int, last: float) -> tuple[float, ...]:
    """``count`` step times from 0 to ``last``, 0.7 to 1.8 s apart (before scaling), irregular
    like the original release's (a golden-ratio sequence: no seed)."""
    gaps = [0.7 + 1.1 * (i * 0.6180339887 % 1) for i in range(1, count)]
    scale, elapsed, times = last / sum(gaps), 0.0, [0.0]
    for gap in gaps:
        elapsed += gap * scale
        times.append(round(elapsed, 1))
    times[-1] = last
    return tuple(times)


def _late(runs: tuple[frozenset[int], ...], times: tuple[float, ...], kind: str, step: int, lag: float) -> tuple[str, int, int, float]:
    """A row of ``kind`` in ``step``, ``lag`` seconds behind the step, for a route present there."""
    route = next(r for r, run in enumerate(runs) if step in run and min(run) < step)
    return kind, route, step, round(times[step] - lag, 1)


def _original_shape() -> Shape:
    """The course's original release: 106 steps from 0 to 128.8 s, 100 routes present 23 to 44
    steps each (4 to 40 per step), ~196,000 + ~3,900 rows, a fifth of the routes without a GPS
    fix in their first step; late rows of both kinds, within the watermark and past it."""
    times = _stepped_steps(106, 128.8)
    runs = _runs(100, 106, shortest=23, spread=22)
    no_locations = frozenset((r, min(run)) for r, run in enumerate(runs) if r % 5 == 0)
    located = sorted((r, s) for r, run in enumerate(runs) for s in run if (r, s) not in no_locations)
    # Within the watermark (10 s behind the step) and past it (50 s behind: the newest earlier
    # data is more than the window's end + 30 s ahead, so the window has closed), both kinds.
    disorder = tuple(_late(runs, times, kind, step, lag) for kind, step, lag in (
        ("accelerations", 30, 10.0), ("locations", 41, 10.0), ("accelerations", 62, 50.0),
        ("locations", 70, 50.0), ("locations", 88, 55.0), ("accelerations", 101, 10.0),
    ))  # fmt: skip
    return Shape(
        step_seconds=times,
        step_span=0.6,  # below the shortest gap: each folder's rows are newer than the last's
        acc_interval=0.01,  # ~60 rows a file
        loc_interval=0.5,  # one or two rows a file
        route_steps=runs,
        no_locations=no_locations,
        no_accelerations=frozenset((r, max(run)) for r, run in enumerate(runs) if r % 7 == 3),
        disorder=disorder,
        no_fix=tuple((r, sorted(run)[2], 0) for r, run in enumerate(runs) if r % 6 == 1),
        null_location_ids=tuple((r, s, 0) for r, s in located if (r + s) % 3 == 0),
        null_id_every=4,
    )


REAL = _real_shape()
ORIGINAL = _original_shape()
SHAPES = {"small": SMALL, "real": REAL, "original": ORIGINAL}
SIZES = tuple(SHAPES)


@dataclass(frozen=True)
class Route:
    uuid: str
    ride_id: str
    filename: str
    latitude: float
    longitude: float


def _hex(rng: random.Random) -> str:
    return "".join(map(rng.choice, repeat("0123456789abcdef", 32)))  # 32 draws, as fast as they go


def _routes(rng: random.Random, count: int) -> list[Route]:
    routes = []
    for _ in range(count):
        movie = _hex(rng)
        routes.append(
            Route(
                uuid=_hex(rng),
                ride_id=_hex(rng),
                filename=f"{movie[:8]}-{movie[8:12]}-{movie[12:16]}-{movie[16:20]}-{movie[20:]}.mov",
                latitude=round(40.7 + rng.random() * 0.1, 6),
                longitude=round(-74.0 + rng.random() * 0.1, 6),
            )
        )
    return routes


def _offsets(rng: random.Random, start: float, interval: float, span: float) -> list[float]:
    first = start + rng.random() * interval
    count = int((span - (first - start)) / interval) + 1
    return [round(first + i * interval, 6) for i in range(count)]


def _row(kind: str, route: Route, offset: float, rng: random.Random, index: int, null_id_every: int) -> dict:
    stored = STORED_TIMESTAMP + timedelta(microseconds=rng.randrange(1_000_000))
    row = {
        "id": None if (kind == "accelerations" and index % null_id_every == 0) else _hex(rng),
        "ride_id": route.ride_id,
        "uuid": route.uuid,
        "timestamp": stored,
        "offset": offset,
        "timelapse": False,
        "filename": route.filename,
    }
    if kind == "accelerations":
        row.update({axis: round(rng.uniform(-1.0, 1.0), 3) for axis in ("x", "y", "z")})
    else:
        row.update(
            course=round(rng.uniform(0, 360), 6),
            latitude=round(route.latitude + offset * 1e-5, 6),
            longitude=round(route.longitude + offset * 1e-5, 6),
            geohash="dr5r" + "".join(map(rng.choice, repeat("0123456789bcdefghjkmnpqrstuvwxyz", 8))),
            speed=round(rng.uniform(0.0, 20.0), 2),
            accuracy=float(rng.choice((5, 10, 10, 30))),
        )
    return row


def generate(out_dir: Path, seed: int = 0, size: str = "small") -> Path:
    """Write a dataset of ``size`` (one of SIZES) to ``out_dir``, replacing it; same seed and
    size, same bytes (the committed fixtures are ``small`` with seed 0)."""
    if size not in SHAPES:
        raise ValueError(f"unknown dataset size {size!r}: expected one of {', '.join(SIZES)}")
    shape = SHAPES[size]
    rng = random.Random(seed)
    routes = _routes(rng, len(shape.route_steps))
    rows: dict[tuple[str, int, int], list[dict]] = {}
    for r, present in enumerate(shape.route_steps):
        for s in sorted(present):
            for kind, interval, absent in (
                ("accelerations", shape.acc_interval, shape.no_accelerations),
                ("locations", shape.loc_interval, shape.no_locations),
            ):
                if (r, s) in absent:
                    continue
                offsets = _offsets(rng, shape.step_seconds[s], interval, shape.step_span)
                rows[(kind, r, s)] = [
                    _row(kind, routes[r], o, rng, i, shape.null_id_every) for i, o in enumerate(offsets)
                ]
    for kind, r, s, offset in shape.disorder:
        rows[(kind, r, s)].append(_row(kind, routes[r], offset, rng, 1, shape.null_id_every))
    for r, s, index in shape.no_fix:  # GPS rows without a fix, as in the real data
        rows[("locations", r, s)][index].update(speed=-1.0, course=-1.0)
    for r, s, index in shape.null_location_ids:
        rows[("locations", r, s)][index]["id"] = None

    out_dir = Path(out_dir)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    for (kind, r, s), records in sorted(rows.items()):
        folder = out_dir / kind / step_name(shape.step_seconds[s])
        folder.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pylist(records, schema=SCHEMAS[kind])
        pq.write_table(table, folder / f"{routes[r].uuid}.parquet")
    return out_dir
