"""Arrow's allocations from the C library's malloc, which hands large blocks back as they are freed.

Judging data of the original release's size allocates ~300 MiB for a few seconds at a time.
Measured on one grading's outputs (the grader's RSS, peak and after judging; judging time):
pyarrow's default pool (mimalloc) 780 / 626 MiB, 10.3 s; jemalloc 654 / 487 MiB, 10.4 s, or with
no decay 609 / 378 MiB, 13.9 s; the system's malloc 591 / 565 MiB, 9.8 s. Set once per process,
before any table exists (a table allocated from one pool stays in it).
"""

from __future__ import annotations

import pyarrow as pa


def release_promptly() -> None:
    pa.set_memory_pool(pa.system_memory_pool())
