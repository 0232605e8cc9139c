"""The Python API's synchronous calls: ``convert``, ``convert_file``, ``extract_text``, ``retry``.

Each builds a feed and runs it through one ``Pipeline`` (``core/pipeline.py``), exactly as
the command line does, on the process's shared worker pool (``execution/shared.py``):
calls made at once from many threads (or the async calls in ``core/aio.py``) share one
CPU budget and the same warm workers.

Options come as an ``Options`` object, as keyword arguments naming its fields
(``languages="eng+spa"``, ``jobs=2``), or both (the keywords win).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import fields, replace
from pathlib import Path, PurePath
from typing import Any

from scan2pdf.core.archives import archive_of, find_members, identity_path
from scan2pdf.core.discover import discover, per_folder
from scan2pdf.core.events import EventCallback
from scan2pdf.core.jobs import Input
from scan2pdf.core.options import Options
from scan2pdf.core.pipeline import Feed, Pipeline, ResultCallback
from scan2pdf.core.report import FileResult, Report
from scan2pdf.core.resume import FeedTraits
from scan2pdf.core.sniff import sniff
from scan2pdf.core.tools import check_environment
from scan2pdf.errors import ConversionError, UsageError
from scan2pdf.execution.cluster import ClusterExecutor
from scan2pdf.execution.protocol import Executor
from scan2pdf.execution.shared import shared_pool
from scan2pdf.state.failures import kept_original
from scan2pdf.state.journal import Entry, Journal, default_path

PathLike = str | os.PathLike[str]
Languages = str | Sequence[str]
_OPTION_NAMES = frozenset(f.name for f in fields(Options))


def make_options(
    options: Options | None = None, languages: Languages | None = None, **values: Any
) -> Options:
    """``options`` (default ``Options()``) with the fields named in ``values`` replaced.

    ``languages`` may be ``"eng+spa"`` (Tesseract's spelling), ``"eng,spa"`` or a sequence.
    """
    unknown = sorted(set(values) - _OPTION_NAMES)
    if unknown:
        raise UsageError(
            f"Unknown option(s): {', '.join(unknown)}.",
            f"Use fields of scan2pdf.Options: {', '.join(sorted(_OPTION_NAMES))}.",
        )
    if languages is not None:
        values["languages"] = (
            Options.parse_languages(languages) if isinstance(languages, str) else tuple(languages)
        )
    base = options or Options()
    return replace(base, **values) if values else base


def convert(
    inputs: PathLike | Sequence[PathLike],
    outdir: PathLike,
    options: Options | None = None,
    *,
    languages: Languages | None = None,
    report: Report | None = None,
    report_path: Path | None = None,
    on_result: ResultCallback | None = None,
    progress: EventCallback | None = None,
    journal_path: Path | None = None,
    failed_dir: Path | None = None,
    stop: threading.Event | None = None,
    index: bool = True,
    on_notice: Callable[[str], None] | None = None,
    own_pool: bool = False,
    group_pages: bool = False,
    folder_options: Mapping[str, Options] | None = None,
    cluster: str | None = None,
    cluster_storage: str = "auto",
    **option_values: Any,
) -> Report:
    """Convert files and folder trees into ``outdir``; return the batch's ``Report``.

    Raises UsageError, MissingDependencyError or LocationError before any work starts,
    and DiskFullError when the disk fills (the run stops; nothing partial is left;
    running it again continues). Once ``stop`` is set the run's work is stopped, nothing
    partial is left at an output path, and the Report of what was done is returned with
    ``interrupted`` set; on Ctrl-C the same, but KeyboardInterrupt propagates (pass your
    own ``report`` to read the totals afterwards).
    ``on_result`` hears each file's result, ``progress`` every event (``core/events.py``:
    file started, page done, file finished), both on this thread. ``index`` keeps
    OUTDIR's search index current (``scan2pdf.search``); ``on_notice`` hears of things
    worth a line (an index rebuilt after damage). ``own_pool``: workers of its own for
    this call, stopped at its end, instead of the process's shared pool (the command
    line's way: one run per process). ``group_pages``: each folder of page images is one
    document (``core/groups.py``). Zip and tar archives are read as folders
    (``core/archives.py``). ``folder_options``: other options for the inputs under a
    folder (a path relative to the INPUT folder, like ``"spanish"``). ``cluster``: a Dask
    scheduler's address (``tcp://host:8786``) to run per-file work on, with
    ``cluster_storage`` ``auto``, ``shared`` or ``send`` (``execution/cluster.py``).
    """
    chosen = make_options(options, languages, **option_values)
    out = Path(outdir)
    paths = _existing(inputs)
    check_environment(chosen)
    roots = tuple(Path(os.path.abspath(p)) for p in paths if p.is_dir())
    files = tuple(Path(os.path.abspath(p)) for p in paths if not p.is_dir())
    executor: Executor | None = None
    if cluster is not None:
        executor = ClusterExecutor(cluster, out, cluster_storage, paths)
    elif not own_pool:
        executor = shared_pool(chosen.jobs).client()
    pipeline = Pipeline(
        out,
        chosen,
        journal_path=journal_path,
        report_path=report_path,
        failed_dir=failed_dir,
        executor=executor,
        stop=stop,
        on_result=on_result,
        report=report,
        index=index,
        on_notice=on_notice,
        on_event=progress,
    )
    feed = per_folder(discover(paths, out, group_pages=group_pages), folder_options or {})
    return _until_stopped(pipeline, Feed(feed, FeedTraits(roots=roots, files=files)), stop)


def _until_stopped(pipeline: Pipeline, feed: Feed, stop: threading.Event | None) -> Report:
    """The pipeline's run of ``feed``. The pipeline ends a stopped run with
    KeyboardInterrupt; a stop the caller asked for (``stop``) is an answer, the Report
    (interrupted), where Ctrl-C is the caller's to handle and propagates."""
    try:
        return pipeline.convert(feed)
    except KeyboardInterrupt:
        if stop is None or not stop.is_set():
            raise
        return pipeline.report


def convert_file(
    path: PathLike,
    outdir: PathLike,
    options: Options | None = None,
    *,
    languages: Languages | None = None,
    **kwargs: Any,
) -> FileResult:
    """Convert one file into ``outdir``; return its ``FileResult`` (also for a failure:
    look at ``status`` and ``reason``). Takes ``convert``'s keyword arguments."""
    source = Path(path)
    if source.is_dir():
        raise UsageError(f"'{source}' is a folder.", "Use scan2pdf.convert() for folders.")
    results: list[FileResult] = []
    convert([source], outdir, options, languages=languages, on_result=results.append, **kwargs)
    return results[0]


def extract_text(
    path: PathLike,
    *,
    languages: Languages | None = None,
    options: Options | None = None,
    progress: EventCallback | None = None,
    stop: threading.Event | None = None,
    **option_values: Any,
) -> str:
    """The text of one scan (image or PDF): every page, form feeds between pages.

    No PDF is left anywhere. A file that cannot be converted raises ``ConversionError``
    with the same ``reason`` and ``message`` the report would give it.
    """
    chosen = make_options(options, languages, **option_values)
    source = _existing(path)[0]
    if source.is_dir():
        raise UsageError(f"'{source}' is a folder.", "extract_text reads one file.")
    check_environment(chosen)
    work = Path(tempfile.mkdtemp(prefix="scan2pdf-text-"))
    try:
        outdir = work / "out"
        results: list[FileResult] = []
        pipeline = Pipeline(
            outdir,
            chosen,
            journal_path=work / "journal.sqlite",
            executor=shared_pool(chosen.jobs).client(),
            stop=stop,
            on_result=results.append,
            index=False,
            on_event=progress,
        )
        pipeline.convert(Feed(discover([source], outdir)))
        result = results[0]
        if result.status != "converted" or result.sidecar is None:
            raise ConversionError(result.input, result.reason or "failed", result.message or "")
        return result.sidecar.read_text(encoding="utf-8")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def retry(
    outdir: PathLike,
    *,
    reason: str | None = None,
    jobs: int | None = None,
    accept_truncated: bool = False,
    report: Report | None = None,
    report_path: Path | None = None,
    on_result: ResultCallback | None = None,
    progress: EventCallback | None = None,
    journal_path: Path | None = None,
    failed_dir: Path | None = None,
    stop: threading.Event | None = None,
    index: bool = True,
    on_notice: Callable[[str], None] | None = None,
    own_pool: bool = False,
    cluster: str | None = None,
    cluster_storage: str = "auto",
) -> Report:
    """Convert again the inputs the journal lists as failed, each with the options it had.

    A PDF with pages missing (cut short) fails again as ``truncated``, whichever command
    failed it first, unless ``accept_truncated``: then the pages it has are converted,
    with a note saying what is missing. Other keyword arguments as for ``convert``."""
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
        fp: Options.from_dict(values, force=True, jobs=jobs, refuse_truncated=not accept_truncated)
        for fp, values in settings.items()
    }
    for options in groups.values():
        check_environment(options)
    executor: Executor | None = None
    if cluster is not None:
        executor = ClusterExecutor(cluster, out, cluster_storage)
    elif not own_pool:
        executor = shared_pool(jobs).client()
    pipeline = Pipeline(
        out,
        Options(jobs=jobs),
        journal_path=path,
        report_path=report_path,
        failed_dir=failed_dir,
        executor=executor,
        stop=stop,
        on_result=on_result,
        report=report,
        index=index,
        on_notice=on_notice,
        on_event=progress,
    )
    # An output is never written over one of the inputs being retried.
    files = tuple(identity_path(e.identity) for e in entries if archive_of(e.identity) is None)
    feed = Feed(_failed_inputs(entries, groups, out), FeedTraits(files=files))
    return _until_stopped(pipeline, feed, stop)


def _existing(inputs: PathLike | Sequence[PathLike]) -> list[Path]:
    """The inputs as paths; UsageError for one that does not exist (as the CLI says it)."""
    given = [inputs] if isinstance(inputs, str | os.PathLike) else list(inputs)
    paths = [Path(p) for p in given]
    for path in paths:
        if not os.path.lexists(path):
            raise UsageError(f"Input '{path}' does not exist.", "Check the path.")
    return paths


def _failed_inputs(
    entries: list[Entry], groups: dict[str, Options], outdir: Path
) -> Iterator[Input]:
    archives: dict[Path, dict[str, Input]] = {}
    for entry in entries:
        if not (entry.fingerprint and entry.output and entry.sidecar):
            continue
        try:
            folder = PurePath(Path(entry.output).parent.relative_to(outdir))
        except ValueError:
            folder = PurePath()
        found = _reopened(entry.identity, archives, outdir)
        yield replace(found, folder=folder, options=groups[entry.fingerprint])


def _reopened(identity: str, archives: dict[Path, dict[str, Input]], outdir: Path) -> Input:
    """The input a journal identity names today: a file, an archive member (its archive
    read once for all its failed members) or a folder of pages."""
    source = identity_path(identity)
    archive = archive_of(identity)
    if archive is not None:
        if archive not in archives:
            archives[archive] = find_members(archive) if archive.is_file() else {}
        member = archives[archive].get(identity)
        if member is not None:
            return member
        return Input(identity, archive, "unreadable", PurePath(), source.name)
    if not os.path.lexists(source):  # a watch drop that failed: moved to failed/
        kept = kept_original(identity)
        if kept is not None:
            return Input(identity, kept, sniff(kept), PurePath(), source.name)
    if source.is_dir():  # a folder's pages as one document: discovery's own rule decides
        first = next(iter(discover([source], outdir, group_pages=True)), None)
        if first is not None and first.kind == "pages" and first.identity == identity:
            return first
    return Input(identity, source, sniff(source), PurePath(), source.name)
