"""Makes ``time.sleep`` work under Debian's libfaketime 0.9.10 with a real monotonic clock.

Only ``make test-shifted-clock`` puts this directory on PYTHONPATH, so every Python process
of that run (pytest, the workers it starts, ``python -c`` helpers) imports it at start-up.

Why it exists: the shifted run fakes the wall clock only (``DONT_FAKE_MONOTONIC=1``); faking
the monotonic clock too hangs every timed lock wait, because glibc's ``sem_clockwait`` is not
intercepted and waits for a deadline 400 days away. With the monotonic clock left real,
libfaketime 0.9.10 still rewrites the absolute deadline of
``clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME)`` by the fake offset, which is how Python
3.11+ sleeps: ``time.sleep`` fails with EINVAL (+400d) or sleeps for a month (-30d).
Upstream: wolfcw/libfaketime#426, fixed after 0.9.10. ``select`` with a relative timeout is
passed through untouched, so sleeping on it keeps the real duration.
"""

from __future__ import annotations

import os
import select
import time


def _sleep(seconds: float) -> None:
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        select.select([], [], [], left)


if "faketime" in os.environ.get("LD_PRELOAD", "") and "1" in (
        os.environ.get("FAKETIME_DONT_FAKE_MONOTONIC"), os.environ.get("DONT_FAKE_MONOTONIC")):
    time.sleep = _sleep
