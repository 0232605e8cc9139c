"""An OCRmyPDF plugin: every task OCRmyPDF runs in parallel takes a shared page slot.

OCRmyPDF 17.x (checked against 17.13.0) runs a document's parallel work - its pages, the
"scanning contents" pass, image optimisation - through the executor its ``get_executor``
hook returns (a firstresult hook: ours is asked before the built-in one). This one is
OCRmyPDF's own ``StandardExecutor`` with each task wrapped in ``slot()``
(``execution/slots.py``), and the calling thread's slot lent out meanwhile: the file's
own work holds one slot, its pages as many as are free across the whole pool. A page task
found turned runs again turned, in the same slot (``ocrengine.run_page``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from ocrmypdf import hookimpl
from ocrmypdf.builtin_plugins.concurrency import StandardExecutor

from scan2pdf.execution.slots import slot, slot_lent
from scan2pdf.worker import ocrengine


def _in_slot(task: Callable[..., Any], *args: Any) -> Any:
    with slot():
        # A page found turned is made upright in its own task (worker/ocrengine.py).
        return ocrengine.run_page(task, *args)


class SlotExecutor(StandardExecutor):
    def _execute(
        self,
        *,
        use_threads: bool,
        max_workers: int,
        progress_kwargs: dict[str, Any],
        worker_initializer: Callable[..., Any],
        task: Callable[..., Any],
        task_arguments: Iterable[Any],
        task_finished: Callable[..., Any],
    ) -> None:
        with slot_lent():
            super()._execute(
                use_threads=use_threads,
                max_workers=max_workers,
                progress_kwargs=progress_kwargs,
                worker_initializer=worker_initializer,
                # A module-level function in a partial: picklable for a process pool.
                task=partial(_in_slot, task),
                task_arguments=task_arguments,
                task_finished=task_finished,
            )


@hookimpl
def get_executor(progressbar_class: Any) -> SlotExecutor:
    return SlotExecutor(pbar_class=progressbar_class)  # type: ignore[no-untyped-call]
