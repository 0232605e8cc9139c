"""A long file cut into page ranges on a cluster: where to cut it, and what travels.

On a Dask cluster a file's pages would otherwise stay on the one worker thread that
converts it, so a 500-page volume took as long on twenty machines as on one. A file with
enough pages is instead sent as a small graph (``execution/volumes.py`` sends it,
``worker/ranges.py`` runs it):

- a **plan** task preflights the whole input once (the same ``prepare`` as a whole file),
  makes the decisions that belong to the document (the renderer, the OCR resolution cap)
  and cuts the prepared PDF into ranges of pages (``Part``);
- once the plan is back, a **range** task per part runs OCRmyPDF over its pages on any
  worker (``RangeDone``);
- the coordinator takes each range back as it finishes and, once all are back, assembles
  the document (``worker/assemble.py``): pages in order, one text layer per page, one
  sidecar, provenance stamped and the text layer checked on the whole document, the same
  notes and quality as a local run; then it is published as any other file.

Dask re-runs a range whose worker died (and whatever that worker held that is still
needed), so a death costs that range, not the file.

Where to cut (``range_count``): a range is one ``ocrmypdf.ocr()`` call, whose own cost
beside its pages (validation, the PDF/A pass, optimisation, checks) was measured at
about 0.1 s beside 0.19 s a page (2026-12-04, ``convert_file`` warm, the samples' scanned
report: 1 page 0.29 s, 4 pages 0.8 s, 16 pages 3.1 s): half a light page's OCR, a
twenty-fifth of a full 300 dpi magazine page's. Ranges of at least ``RANGE_PAGES`` = 4
pages keep it near a tenth of a range of the lightest pages (1% on full pages), while
an 8-page volume, the tail shape of ``benchmarks/cluster_bench.py``, already goes to two
threads. A file is cut only when there is more than one worker thread and it makes two
ranges or more. More ranges than ``RANGES_PER_THREAD`` = 2 a thread buy no balance and
cost an ``ocr()`` call each; two a thread let a slow or busy worker's second range go to
another. The count is rounded down to a multiple of the threads, so that a file alone on
the cluster ends on every thread at once.

Local runs do not cut files: measured against the local pool's ``-j 2`` (README, "Past
one machine"), the same machinery made a long file alone 4-11% faster on light pages and
4% on full ones, where a local run already spreads a file's pages over the free cores.
"""

from __future__ import annotations

import importlib
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from scan2pdf.core.jobs import Artifact, Job, Outcome
from scan2pdf.core.options import Options
from scan2pdf.core.quality import PageRead

RANGE_PAGES = 4
RANGES_PER_THREAD = 2
_WORKER = "scan2pdf.worker.ranges"


def range_count(pages: int, threads: int) -> int:
    """How many ranges a file of ``pages`` pages is cut into on ``threads`` worker
    threads; 1 is not cut (see the module doc)."""
    count = min(pages // RANGE_PAGES, RANGES_PER_THREAD * threads)
    if threads < 2 or count < 2:
        return 1
    return threads * (count // threads) if count >= threads else count


def bounds(pages: int, count: int) -> list[range]:
    """``count`` ranges of 0-based page indexes, in order, sizes differing by one at most
    (the first ones longer); empty ones when there are fewer pages than ranges."""
    size, longer = divmod(pages, count)
    cuts, start = [], 0
    for number in range(count):
        stop = start + size + (number < longer)
        cuts.append(range(start, stop))
        start = stop
    return cuts


@dataclass(frozen=True, slots=True)
class Part:
    """One range's input, cut by the plan task."""

    number: int  # 0-based, in page order
    first: int  # the document's 1-based number of its first page
    pages: int
    pdf: Artifact  # the range as a PDF: bytes, or a path in the shared folder
    # The document's decisions, made once over all its pages (``worker/ranges.py``).
    options: Options
    # 1-based page of the range -> (suffix, bytes) of the image OCR reads in its place.
    twins: tuple[tuple[int, str, bytes], ...] = ()
    # 0-based page of the range -> its ``worker/stretched.py`` Stretch.
    stretches: dict[int, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Meta:
    """What the plan says of the document as a whole."""

    pages: int = 0
    notes: tuple[str, ...] = ()  # preflight's
    ocr_notes: tuple[str, ...] = ()  # what the OCR says of the whole document (its cap)
    repair: str | None = None
    made_by: str | None = None
    detail: tuple[str, ...] = ()
    # Instead of ranges: the file failed in preflight, or was converted whole by the plan
    # task (a document whose pages refer to each other, or that has too few pages).
    outcome: Outcome | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    meta: Meta
    parts: tuple[Part | None, ...]  # one per range asked for; None: no pages for it


@dataclass(frozen=True, slots=True)
class RangeDone:
    """One range, OCRed: its PDF before provenance and checks, and what it read. Page
    numbers here (``reads``, ``unreadable``, ``notes``) are the document's."""

    number: int
    first: int
    pages: int
    pdf: Artifact
    # OCRmyPDF's sidecar split per page (None: not OCRed), for the text layer check.
    ocr_text: tuple[str | None, ...]
    # The sidecar's pages (``worker/sidecar.py``'s ``SidecarText``), before blank pages.
    texts: tuple[str, ...]
    ocr_pages: int
    unreadable: tuple[int, ...]
    reads: dict[int, PageRead]
    notes: tuple[str, ...]
    detail: tuple[str, ...] = ()
    # The PDF/A part and conformance its XMP claims ("2B"; "" for a plain PDF): the
    # document is assembled from ranges only when they all agree.
    pdfa: str = ""


# ---- on a worker: the tasks Dask runs, importing the worker side there by name (the
# coordinator never loads OCRmyPDF) ------------------------------------------------------


def plan_task(job: Job, payload: Any, shared: str | None, count: int, topic: str, key: str) -> Plan:
    _started(topic, key)
    plan: Plan = importlib.import_module(_WORKER).plan_volume(job, payload, shared, count)
    return plan


def range_task(
    job: Job, part: Part | None, shared: str | None, topic: str, key: str
) -> RangeDone | Outcome | None:
    if part is None:
        return None
    _started(topic, key)
    done: RangeDone | Outcome | None = importlib.import_module(_WORKER).run_range(job, part, shared)
    return done


def _started(topic: str, key: str) -> None:
    """Tell the coordinator that task ``key`` starts now: its --timeout counts from here,
    not from when it was queued (a volume's ranges are all queued at once)."""
    with suppress(Exception):  # not on a Dask worker (a test calling it): nothing to tell
        from distributed import get_worker

        get_worker().log_event(topic, key)
