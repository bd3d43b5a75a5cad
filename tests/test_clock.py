"""The feed's fake clock: frozen for the feed's thread only, moved by its waits, bounded."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest

from grader.clock import FeedOverrun, fake_clock
from grader.contract import KINDS

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_every_clock_starts_at_the_frozen_instant() -> None:
    with fake_clock(START, 300):
        readings = [
            datetime.fromtimestamp(time.time(), timezone.utc),
            datetime.now(timezone.utc),
            datetime.utcnow().replace(tzinfo=timezone.utc),
            pd.Timestamp.now(tz="UTC").to_pydatetime(),
            pd.Timestamp.utcnow().to_pydatetime(),
        ]
    for reading in readings:
        assert START <= reading < START.replace(second=1), reading


def test_sleep_moves_the_clock_without_waiting() -> None:
    began = time.monotonic()
    with fake_clock(START, 300) as clock:
        before = time.monotonic()
        time.sleep(120)
        assert 120 <= time.monotonic() - before < 120.1
        assert 120 <= clock.seconds() < 120.1
    assert time.monotonic() - began < 5


@pytest.mark.parametrize("name", ["time", "monotonic", "perf_counter"])
def test_busy_waiting_ends(name: str) -> None:
    with fake_clock(START, 300):
        read = getattr(time, name)  # looked up inside: the frozen one, as a student's loop sees it
        due = read() + 30
        while read() < due:
            pass
        assert due <= read() < due + 0.01


def test_other_threads_keep_the_real_clock() -> None:
    seen: list[float] = []
    with fake_clock(START, 300):
        worker = threading.Thread(target=lambda: (time.sleep(0.01), seen.append(time.time())))
        worker.start()
        worker.join()
        frozen = time.time()
    assert abs(seen[0] - time.time()) < 60
    assert abs(frozen - START.timestamp()) < 1


def test_a_feed_that_never_ends_is_stopped_past_the_deadline() -> None:
    with fake_clock(START, 100), pytest.raises(FeedOverrun, match="past the replay's end"):
        try:
            while True:
                time.sleep(1)
        except Exception:  # a student's catch-all must not swallow it
            pytest.fail("FeedOverrun was caught by `except Exception`")


def test_real_clock_is_back_afterwards() -> None:
    with fake_clock(START, 300):
        pass
    assert abs(time.time() - datetime.now(timezone.utc).timestamp()) < 1
    assert datetime.now(timezone.utc).year >= 2026 and time.sleep.__module__ == "time"


def test_a_feed_that_sleeps_t_after_the_previous_step_still_publishes_every_step(generated, tmp_path: Path) -> None:
    """Such a feed is late (feed.timing), not incomplete: fake time has room for the sum of every
    step's t (on the course's size that is far past the replay's end, where it used to be cut)."""
    import json
    import subprocess
    import sys

    from grader.dataset import list_steps
    from tests.test_catalogue import build_wrong

    data = generated("real", 0)
    steps = list_steps(data)
    assert sum(s.seconds for s in steps) > 2 * steps[-1].seconds + 300  # the old budget would have cut it
    folder = build_wrong(["feed_cumulative_sleep"], tmp_path / "submission")
    script = ("import json, sys; from datetime import datetime, timezone; from pathlib import Path; "
              "from grader.feed import run_feed; "
              "print(json.dumps(run_feed(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), datetime(2026, 1, 1, tzinfo=timezone.utc))['error']))")
    done = subprocess.run([sys.executable, "-c", script, str(folder), str(data), str(tmp_path / "results")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) is None, done.stdout
    for kind in KINDS:
        published = {p.name for p in (tmp_path / "results" / "stream" / "input" / kind).iterdir()}
        assert published == {s.name for s in steps if (data / kind / s.name).is_dir()}
