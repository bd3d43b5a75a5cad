"""The feed's fake clock: frozen for the feed's thread only, moved by its waits, bounded."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

import pandas as pd
import pytest

from grader.clock import FeedOverrun, fake_clock

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
