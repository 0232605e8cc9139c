"""A ``dask worker --preload`` for tests: an input named ``poison*`` kills its worker;
one named ``slow*`` waits a few seconds first, so that it is still on the worker when a
``poison`` file beside it kills it.

It stands in for a scan that makes Tesseract or Ghostscript take the worker process
down (out of memory, a crash in a decoder); the death itself is real (SIGKILL of the
worker process, which its nanny then restarts), so Dask counts it as it would any other.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from scan2pdf.worker import remote

_convert = remote.convert_file
SLOW = 4.0  # seconds: longer than a worker's restart after a death


def _poisoned(job: Any, jobs: int) -> Any:
    if job.source.name.startswith("poison"):
        os.kill(os.getpid(), signal.SIGKILL)
    if job.source.name.startswith("slow"):
        time.sleep(SLOW)
    return _convert(job, jobs)


def dask_setup(worker: object) -> None:
    remote.convert_file = _poisoned  # type: ignore[assignment]
