"""The Python API for asyncio programs: ``aextract_text``, ``aconvert``, ``aconvert_iter``.

Each call runs its pipeline in a thread of its own (the loop never blocks on OCR or on
the journal) and its per-file work on the process's shared worker pool, so fifty calls
gathered at once run at most ``jobs`` Tesseracts and reuse warm workers.

Cancelling the awaiting task (or leaving an ``async for`` early) stops that call's work:
its workers' jobs are killed, nothing partial is left in OUTDIR, and the journal keeps
unfinished files as not done, so the next run does them. The task waits for the stop to
finish (a fraction of a second) before it sees ``CancelledError``.

``progress`` callbacks run on the event loop's thread.
"""

from __future__ import annotations

import asyncio
import threading
import warnings
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from functools import partial
from typing import Any, TypeVar

from scan2pdf.core.api import Languages, PathLike, convert, extract_text
from scan2pdf.core.events import Event, EventCallback
from scan2pdf.core.options import Options
from scan2pdf.core.report import FileResult, Report

T = TypeVar("T")

# Pipelines mostly wait (on workers, on the disk), so many may run at once; the CPU budget
# is the shared pool's, not this. Calls beyond this many wait for a thread.
_CALLS = ThreadPoolExecutor(max_workers=64, thread_name_prefix="scan2pdf-call")


async def aextract_text(
    path: PathLike,
    *,
    languages: Languages | None = None,
    options: Options | None = None,
    progress: EventCallback | None = None,
    **option_values: Any,
) -> str:
    """``extract_text`` for asyncio programs (see the module docstring)."""
    loop = asyncio.get_running_loop()
    return await _in_thread(
        lambda stop: extract_text(
            path,
            languages=languages,
            options=options,
            progress=_on_loop(loop, progress),
            stop=stop,
            **option_values,
        )
    )


async def aconvert(
    inputs: PathLike | Sequence[PathLike],
    outdir: PathLike,
    options: Options | None = None,
    *,
    progress: EventCallback | None = None,
    **kwargs: Any,
) -> Report:
    """``convert`` for asyncio programs; takes the same keyword arguments."""
    loop = asyncio.get_running_loop()
    return await _in_thread(
        lambda stop: convert(
            inputs, outdir, options, progress=_on_loop(loop, progress), stop=stop, **kwargs
        )
    )


async def aconvert_iter(
    inputs: PathLike | Sequence[PathLike],
    outdir: PathLike,
    options: Options | None = None,
    *,
    progress: EventCallback | None = None,
    **kwargs: Any,
) -> AsyncIterator[FileResult]:
    """Each input's ``FileResult`` as soon as it is finished::

        async for result in aconvert_iter(["scans/"], "out/"):
            print(result.input, result.status)

    Leaving the loop early (``break``, an exception, a cancel) stops the rest of the work.
    """
    loop = asyncio.get_running_loop()
    results: asyncio.Queue[FileResult | None] = asyncio.Queue()

    def hand_over(result: FileResult) -> None:
        loop.call_soon_threadsafe(results.put_nowait, result)

    def run(stop: threading.Event) -> Report:
        try:
            return convert(
                inputs,
                outdir,
                options,
                on_result=hand_over,
                progress=_on_loop(loop, progress),
                stop=stop,
                **kwargs,
            )
        finally:
            loop.call_soon_threadsafe(results.put_nowait, None)

    stop = threading.Event()
    call = asyncio.ensure_future(loop.run_in_executor(_CALLS, run, stop))
    try:
        while (result := await results.get()) is not None:
            yield result
        await call  # raises what the run raised (a UsageError, a full disk...)
    finally:
        if not call.done():
            stop.set()
            await _finished(call)


def convert_async(
    inputs: Sequence[PathLike],
    outdir: PathLike,
    options: Options | None = None,
    **kwargs: Any,
) -> Coroutine[Any, Any, Report]:
    """Deprecated: the old name of ``aconvert`` (``await convert_async(...)`` still works)."""
    # A plain function, so the warning names the caller's line, not asyncio's.
    warnings.warn(
        "scan2pdf.convert_async is deprecated; use scan2pdf.aconvert (same arguments).",
        DeprecationWarning,
        stacklevel=2,
    )
    return aconvert(inputs, outdir, options, **kwargs)


async def _in_thread(work: Callable[[threading.Event], T]) -> T:
    """Run ``work(stop)`` in a call thread; on cancellation set ``stop``, wait for the work
    to wind down, then let the cancellation go on."""
    loop = asyncio.get_running_loop()
    stop = threading.Event()
    call = asyncio.ensure_future(loop.run_in_executor(_CALLS, work, stop))
    try:
        return await asyncio.shield(call)
    except asyncio.CancelledError:
        stop.set()
        await _finished(call)
        raise


async def _finished(call: asyncio.Future[Any]) -> None:
    """Wait for a stopped call's thread, whatever it ends with (KeyboardInterrupt is how a
    stopped pipeline ends; a second cancel leaves the thread to end on its own)."""
    # The caller is being cancelled: whatever the call ended with is not its result.
    with suppress(asyncio.CancelledError, KeyboardInterrupt, Exception):
        await asyncio.shield(call)


def _on_loop(
    loop: asyncio.AbstractEventLoop, callback: EventCallback | None
) -> EventCallback | None:
    """``callback`` called on the loop's thread, whichever thread the event comes from."""
    if callback is None:
        return None

    def relay(event: Event) -> None:
        loop.call_soon_threadsafe(partial(callback, event))

    return relay
