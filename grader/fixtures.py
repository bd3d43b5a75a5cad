"""A seeded generator of small datasets with the course data's exact layout and schema.

The shape is chosen so every rule of the assignment shows: routes start and stop at different
steps, one route has accelerations but no locations in one step (and the reverse in another),
GPS rows without a fix (``speed = -1``), null ``id``s, rows slightly out of order, and rows later
than the 30-second watermark that a correct solution drops.
"""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from grader.dataset import EPOCH, SCHEMAS, step_name

# Step times (seconds). Wide gaps let the watermark pass whole windows between steps.
STEP_SECONDS = (0.0, 8.5, 17.2, 26.4, 41.9, 63.0)
STEP_SPAN = 3.8  # rows of step t have offsets in [t, t + STEP_SPAN]
ACC_INTERVAL = 0.4  # seconds between two acceleration rows of a route
LOC_INTERVAL = 1.9  # seconds between two location rows of a route
# Route index -> steps it is present in; (route, step) pairs with one kind missing.
ROUTE_STEPS = ({0, 1, 2, 3}, {0, 1, 2, 3, 4, 5}, {2, 3, 4, 5}, {1, 2, 3, 4})
NO_LOCATIONS = {(3, 3)}  # route 3 has accelerations but no locations in step 3
NO_ACCELERATIONS = {(3, 4)}  # ... and locations but no accelerations in step 4
# (kind, route, step, offset): rows out of order. Within the watermark in step 2; in step 5 the
# row at 3.1 s is 60 s behind the newest data, so its window [0 s, 15 s) is already closed.
DISORDER = (
    ("locations", 1, 2, 14.1),
    ("accelerations", 1, 2, 14.3),
    ("locations", 2, 5, 44.2),
    ("locations", 1, 5, 3.1),
    ("accelerations", 1, 5, 3.3),
)
STORED_TIMESTAMP = datetime(1970, 1, 1, 0, 25, 3, tzinfo=EPOCH.tzinfo)  # meaningless, as in the real data


@dataclass(frozen=True)
class Route:
    uuid: str
    ride_id: str
    filename: str
    latitude: float
    longitude: float


def _hex(rng: random.Random) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(32))


def _routes(rng: random.Random) -> list[Route]:
    routes = []
    for _ in ROUTE_STEPS:
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


def _offsets(rng: random.Random, start: float, interval: float) -> list[float]:
    first = start + rng.random() * interval
    count = int((STEP_SPAN - (first - start)) / interval) + 1
    return [round(first + i * interval, 6) for i in range(count)]


def _row(kind: str, route: Route, offset: float, rng: random.Random, index: int) -> dict:
    stored = STORED_TIMESTAMP + timedelta(microseconds=rng.randrange(1_000_000))
    row = {
        "id": None if (kind == "accelerations" and index % 3 == 0) else _hex(rng),
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
            geohash="dr5r" + "".join(rng.choice("0123456789bcdefghjkmnpqrstuvwxyz") for _ in range(8)),
            speed=round(rng.uniform(0.0, 20.0), 2),
            accuracy=float(rng.choice((5, 10, 10, 30))),
        )
    return row


def generate(out_dir: Path, seed: int = 0) -> Path:
    """Write a dataset to ``out_dir`` (replacing it); same seed, same rows."""
    rng = random.Random(seed)
    routes = _routes(rng)
    rows: dict[tuple[str, int, int], list[dict]] = {}
    for r, present in enumerate(ROUTE_STEPS):
        for s in sorted(present):
            for kind, interval, absent in (
                ("accelerations", ACC_INTERVAL, NO_ACCELERATIONS),
                ("locations", LOC_INTERVAL, NO_LOCATIONS),
            ):
                if (r, s) in absent:
                    continue
                offsets = _offsets(rng, STEP_SECONDS[s], interval)
                rows[(kind, r, s)] = [_row(kind, routes[r], o, rng, i) for i, o in enumerate(offsets)]
    for kind, r, s, offset in DISORDER:
        rows.setdefault((kind, r, s), []).append(_row(kind, routes[r], offset, rng, 1))
    # GPS rows without a fix, as in the real data.
    for key, index in ((("locations", 0, 1), 0), (("locations", 2, 3), 1), (("locations", 1, 4), 0)):
        rows[key][index].update(speed=-1.0, course=-1.0)
    rows[("locations", 1, 3)][0]["id"] = None

    out_dir = Path(out_dir)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    for (kind, r, s), records in sorted(rows.items()):
        folder = out_dir / kind / step_name(STEP_SECONDS[s])
        folder.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pylist(records, schema=SCHEMAS[kind])
        pq.write_table(table, folder / f"{routes[r].uuid}.parquet")
    return out_dir
