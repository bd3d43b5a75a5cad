"""A fake clock for the student's feed, scoped to the feed's thread.

freezegun freezes ``time.time/monotonic/perf_counter`` and ``datetime.now/utcnow``; this module
adds what it lacks: a ``time.sleep`` that moves the frozen clock instead of waiting, pandas'
``Timestamp.now/utcnow``, a small tick per clock read so busy-waiting loops terminate, and
budgets that stop a feed which would never finish. Other threads (py4j's keeps calling
``time.sleep(1)``) see the real clock: a process-wide fake moved the start instant by days.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

from freezegun import api as freezegun_api
from freezegun import freeze_time

READ_TICK = 0.001  # seconds the clock moves on every read, so `while time.time() < due` ends
IGNORED_MODULES = ("py4j", "pyspark", "threading", "queue", "concurrent", "logging")
_real_sleep = time.sleep
_real_now = freezegun_api.real_datetime.now


class FeedOverrun(BaseException):
    """The feed used more fake time or clock reads than any correct replay needs.

    A BaseException, so a student's ``except Exception`` cannot swallow it.
    """


class _FeedTime(freezegun_api.StepTickTimeFactory):
    """freezegun's step-tick factory, frozen only for one thread and with budgets."""

    def __init__(self, start: datetime, thread_id: int, deadline: datetime, max_reads: int) -> None:
        super().__init__(start.replace(tzinfo=None), READ_TICK)
        self.thread_id = thread_id
        self.deadline = deadline.replace(tzinfo=None)
        self.max_reads = max_reads
        self.reads = 0
        self.sleeps = 0

    def __call__(self) -> datetime:
        if threading.get_ident() != self.thread_id:
            return _real_now(timezone.utc).replace(tzinfo=None)
        self.reads += 1
        if self.reads > self.max_reads:
            raise FeedOverrun(f"the feed read the clock {self.max_reads:,} times without finishing")
        return super().__call__()

    def advance(self, seconds: float) -> None:
        self.sleeps += 1
        self.tick(timedelta(seconds=seconds))
        if self.time_to_freeze > self.deadline:
            raise FeedOverrun(f"the feed was still waiting at {self.time_to_freeze:%H:%M:%S}, past the replay's end")


class FeedClock:
    """The running fake clock: the instant it started at and how far it has moved."""

    def __init__(self, factory: _FeedTime, start: datetime) -> None:
        self._factory = factory
        self.start = start

    def seconds(self) -> float:
        """Fake seconds elapsed since the start, without ticking the clock."""
        return (self._factory.time_to_freeze - self.start.replace(tzinfo=None)).total_seconds()

    @property
    def reads(self) -> int:
        return self._factory.reads

    @property
    def sleeps(self) -> int:
        return self._factory.sleeps


@contextmanager
def fake_clock(start: datetime, deadline_seconds: float, max_reads: int = 5_000_000) -> Iterator[FeedClock]:
    """Freeze the clock at ``start`` for the calling thread until the block ends."""
    start = start.astimezone(timezone.utc)
    factory = _FeedTime(start, threading.get_ident(), start + timedelta(seconds=deadline_seconds), max_reads)

    def sleep(seconds: float) -> None:
        if threading.get_ident() != factory.thread_id:
            _real_sleep(seconds)
            return
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        factory.advance(float(seconds))

    import pandas as pd

    saved = {name: pd.Timestamp.__dict__[name] for name in ("now", "utcnow", "today")}
    freezer = freeze_time(start, ignore=list(IGNORED_MODULES))
    freezer.start()
    freezegun_api.freeze_factories[-1] = factory
    time.sleep = sleep
    pd.Timestamp.now = classmethod(lambda cls, tz=None: cls(datetime.now(timezone.utc)).tz_convert(tz))  # type: ignore[method-assign]
    pd.Timestamp.utcnow = classmethod(lambda cls: cls(datetime.now(timezone.utc)))  # type: ignore[method-assign]
    pd.Timestamp.today = classmethod(lambda cls, tz=None: cls(datetime.now(timezone.utc)).tz_convert(tz))  # type: ignore[method-assign]
    try:
        yield FeedClock(factory, start)
    finally:
        time.sleep = _real_sleep
        for name, value in saved.items():
            setattr(pd.Timestamp, name, value)
        freezer.stop()
