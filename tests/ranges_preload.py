"""A ``dask worker --preload`` for tests of page ranges (``tests/test_cluster_ranges.py``).

Every plan and range a worker starts is logged, one line each, to ``<input>.ranges.log``
beside the input (the tests run coordinator and workers on one machine). By the input's
name:

- ``kill*``: the first time range 1 starts, its worker process is killed (SIGKILL; its
  nanny starts a new one), half a second in, so that what the worker finished before is
  handed back by then;
- ``slow*``: each range waits ``SLOW`` seconds before it converts;
- ``stuck*``: range 0 waits ``STUCK`` seconds before it converts.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from scan2pdf.worker import ranges

SLOW = 1.5
STUCK = 6.0
_plan, _range = ranges.plan_volume, ranges.run_range


def _log(job: Any, line: str) -> None:
    log = Path(f"{job.identity}.ranges.log")
    with log.open("a") as stream:
        stream.write(f"{line} {os.getpid()}\n")


def _planned(job: Any, payload: Any, shared: Any, count: int) -> Any:
    _log(job, f"plan {count}")
    return _plan(job, payload, shared, count)


def _ranged(job: Any, part: Any, shared: Any) -> Any:
    name = Path(job.identity).name
    _log(job, f"range {part.number} {part.first} {part.pages}")
    flag = Path(f"{job.identity}.killed")
    if name.startswith("kill") and part.number == 1 and not flag.exists():
        time.sleep(0.5)
        flag.touch()
        os.kill(os.getpid(), signal.SIGKILL)
    if name.startswith("slow"):
        time.sleep(SLOW)
    if name.startswith("stuck") and part.number == 0:
        time.sleep(STUCK)
    return _range(job, part, shared)


def dask_setup(worker: object) -> None:
    ranges.plan_volume = _planned
    ranges.run_range = _ranged
