"""The Python API's batch calls: ``convert``, ``retry`` and ``convert_async``.

Each builds a feed and runs it through one ``Pipeline`` (``core/pipeline.py``), exactly as
the command line does.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from pathlib import Path, PurePath

from scan2pdf.core.discover import discover, sniff
from scan2pdf.core.jobs import Input
from scan2pdf.core.options import Options
from scan2pdf.core.pipeline import Feed, Pipeline, ResultCallback
from scan2pdf.core.report import Report
from scan2pdf.core.resume import FeedTraits
from scan2pdf.core.tools import check_environment
from scan2pdf.errors import UsageError
from scan2pdf.state.journal import Entry, Journal, default_path


def convert(
    inputs: Sequence[Path | str],
    outdir: Path | str,
    options: Options | None = None,
    *,
    report: Report | None = None,
    report_path: Path | None = None,
    on_result: ResultCallback | None = None,
    journal_path: Path | None = None,
    failed_dir: Path | None = None,
    stop: threading.Event | None = None,
    index: bool = True,
    on_notice: Callable[[str], None] | None = None,
) -> Report:
    """Convert files and folder trees into ``outdir``; return the batch's ``Report``.

    Raises UsageError, MissingDependencyError or LocationError before any work starts,
    and DiskFullError when the disk fills (the run stops; nothing partial is left;
    running it again continues). On Ctrl-C (or once ``stop`` is set) every worker is
    stopped, nothing partial is left at an output path, ``report.interrupted`` is set and
    KeyboardInterrupt propagates; pass your own ``report`` to read the totals afterwards.
    ``index`` keeps OUTDIR's search index current (``scan2pdf.search``); ``on_notice``
    hears of things worth a line (an index rebuilt after damage).
    """
    options = options or Options()
    out = Path(outdir)
    paths = [Path(p) for p in inputs]
    check_environment(options)
    roots = tuple(Path(os.path.abspath(p)) for p in paths if p.is_dir())
    feed = Feed(discover(paths, out), FeedTraits(roots=roots))
    pipeline = Pipeline(
        out,
        options,
        journal_path=journal_path,
        report_path=report_path,
        failed_dir=failed_dir,
        stop=stop,
        on_result=on_result,
        report=report,
        index=index,
        on_notice=on_notice,
    )
    return pipeline.convert(feed)


def retry(
    outdir: Path | str,
    *,
    reason: str | None = None,
    jobs: int | None = None,
    report: Report | None = None,
    report_path: Path | None = None,
    on_result: ResultCallback | None = None,
    journal_path: Path | None = None,
    failed_dir: Path | None = None,
    stop: threading.Event | None = None,
    index: bool = True,
    on_notice: Callable[[str], None] | None = None,
) -> Report:
    """Convert again the inputs the journal lists as failed, each with the options it had."""
    out = Path(os.path.abspath(outdir))
    path = journal_path or default_path(out)
    journal = Journal.open_existing(path)
    if journal is None:
        raise UsageError(f"There is no journal at '{path}'.", "Run scan2pdf convert first.")
    with closing(journal):
        entries = journal.entries(status="failed", reason=reason)
        settings = {
            e.fingerprint: journal.options_for(e.fingerprint) or {}
            for e in entries
            if e.fingerprint
        }
    groups = {
        fp: Options.from_dict(values, force=True, jobs=jobs) for fp, values in settings.items()
    }
    for options in groups.values():
        check_environment(options)
    feed = Feed(_failed_inputs(entries, groups, out))
    pipeline = Pipeline(
        out,
        Options(jobs=jobs),
        journal_path=path,
        report_path=report_path,
        failed_dir=failed_dir,
        stop=stop,
        on_result=on_result,
        report=report,
        index=index,
        on_notice=on_notice,
    )
    return pipeline.convert(feed)


def _failed_inputs(
    entries: list[Entry], groups: dict[str, Options], outdir: Path
) -> Iterator[Input]:
    for entry in entries:
        if not (entry.fingerprint and entry.output and entry.sidecar):
            continue
        source = Path(entry.identity)
        try:
            folder = PurePath(Path(entry.output).parent.relative_to(outdir))
        except ValueError:
            folder = PurePath()
        yield Input(
            entry.identity,
            source,
            sniff(source),
            folder,
            source.name,
            options=groups[entry.fingerprint],
        )


async def convert_async(
    inputs: Sequence[Path | str],
    outdir: Path | str,
    options: Options | None = None,
    *,
    report_path: Path | None = None,
    on_result: ResultCallback | None = None,
) -> Report:
    """``convert`` for asyncio programs: the batch runs in a thread, the loop stays free.

    ``on_result`` is called from that thread; use ``loop.call_soon_threadsafe`` in it to
    touch loop-owned state.
    """
    return await asyncio.to_thread(
        convert, inputs, outdir, options, report_path=report_path, on_result=on_result
    )
