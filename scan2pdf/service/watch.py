"""``scan2pdf watch``: a hot folder that never loses a file and never converts one twice.

How a dropped file goes through:

1. **Found** and **settled** (``service/inbox.py``): by a scan at start, native file
   events between scans, and a full rescan every ``rescan`` seconds, or, with ``poll``,
   by scans alone; taken once still for ``settle`` seconds and whole.
2. **Claimed** by an atomic rename into the inbox's hidden claims folder
   (``service/claims.py``). Its identity stays where it was dropped.
3. **Converted** by the same pipeline as ``convert`` (``core/pipeline.py``), as a new
   drop: a name already taken by another input's outputs gets a name of its own
   (``--on-conflict``); the same file dropped again is up to date; identical content under
   another name gets a copy of the outputs.
4. **Finished**: only after its outputs are published does the original leave its claim:
   to ``done`` (mirrored), or deleted with ``delete_originals``. A failure moves it to
   ``failed`` (mirrored) with ``<name>.error.json`` beside it. Defaults keep both in the
   inbox's hidden ``.scan2pdf/`` folder, so nothing is ever lost. A file whose original
   cannot be moved stays claimed and goes back into the inbox at the stop; the service
   goes on.
"""

from __future__ import annotations

import os
import queue
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path, PurePath

from scan2pdf.core.archives import escaped, identity_path
from scan2pdf.core.jobs import Input
from scan2pdf.core.options import Options
from scan2pdf.core.pipeline import Feed, Pipeline
from scan2pdf.core.report import FileResult, Report
from scan2pdf.core.resume import FeedTraits
from scan2pdf.core.sniff import examine, is_archive
from scan2pdf.core.tools import check_environment
from scan2pdf.errors import UsageError
from scan2pdf.execution.cluster import ClusterExecutor
from scan2pdf.service.claims import WORK, Claims
from scan2pdf.service.inbox import (
    NETWORK_FILESYSTEMS,
    Parse,
    Settler,
    filesystem_type,
    is_temporary,
    parses,
    scan,
    takeable,
)
from scan2pdf.state.failures import free_name, keep_failed_input, prepare_folder
from scan2pdf.state.writer import WriterLock

_TICK = 0.25  # seconds between looks at the inbox's pending files
_AUTO_POLL = 2.0  # seconds between scans when events cannot be relied on

# Where file events come from: given the inbox and the stop event, batches of paths that
# changed. The default is watchfiles (inotify); tests pass a scripted one.
EventSource = Callable[[Path, threading.Event], Iterable[Iterable[Path]]]


@dataclass(frozen=True)
class WatchSettings:
    inbox: Path
    outdir: Path
    done_dir: Path | None = None  # default: INBOX/.scan2pdf/done
    failed_dir: Path | None = None  # default: INBOX/.scan2pdf/failed
    delete_originals: bool = False
    poll: float | None = None  # seconds between scans, no native events
    rescan: float = 60.0
    settle: float = 5.0
    # A still file that never parses, or a PDF that opens only repaired, is taken after
    # this long (service/inbox.py).
    give_up: float = 60.0
    journal_path: Path | None = None
    on_conflict: str = "suffix"

    @property
    def done(self) -> Path:
        return self.done_dir or self.inbox / WORK / "done"

    @property
    def failed(self) -> Path:
        return self.failed_dir or self.inbox / WORK / "failed"

    def check(self, report: Path | None = None) -> None:
        """Refuse layouts where the service would read its own outputs as new scans."""
        inbox = self.inbox.resolve()
        if not inbox.is_dir():
            raise UsageError(f"The inbox '{self.inbox}' is not a folder.")
        out = self.outdir.resolve()
        if inbox == out or out in inbox.parents:
            raise UsageError(
                f"The inbox '{self.inbox}' is inside the output folder '{self.outdir}', so "
                "outputs would be taken as new scans.",
                "Put the inbox outside the output folder.",
            )
        for label, folder in (
            ("output folder", self.outdir),
            ("done folder", self.done_dir),
            ("failed folder", self.failed_dir),
            ("journal (--journal)", self.journal_path),
            ("report file (--report)", report),
        ):
            if folder is None:
                continue
            real = folder.resolve()
            if real == inbox or (inbox in real.parents and not _hidden_below(real, inbox)):
                raise UsageError(
                    f"The {label} '{folder}' is inside the inbox '{self.inbox}', so its files "
                    "would be taken as new scans.",
                    "Put it outside the inbox, or in a hidden folder (.name) inside it, "
                    "which is never watched.",
                )


def _hidden_below(path: Path, top: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(top).parts)


def watchfiles_events(inbox: Path, stop: threading.Event) -> Iterator[list[Path]]:
    """Native file events (watchfiles), as hints: every path they name is looked at."""
    from watchfiles import watch

    for changes in watch(
        inbox,
        stop_event=stop,
        debounce=200,
        raise_interrupt=False,
        yield_on_timeout=True,
        rust_timeout=1000,
    ):
        yield [Path(name) for _, name in changes]


class Watcher:
    def __init__(
        self,
        settings: WatchSettings,
        options: Options,
        on_result: Callable[[FileResult], None] | None = None,
        report_path: Path | None = None,
        report: Report | None = None,
        on_start: Callable[[str], None] | None = None,
        *,
        stop: threading.Event | None = None,
        events: EventSource | None = watchfiles_events,
        on_problem: Callable[[str], None] | None = None,
        index: bool = True,
        cluster: tuple[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.on_start = on_start  # told what is watched and how, once it really starts
        self.on_problem = on_problem  # told of a file the service could not dispose of
        self.index = index  # keep OUTDIR's search index current
        # A Dask scheduler's address and the storage mode (execution/cluster.py), or None.
        self.cluster = cluster
        # A PDF still cut short at --give-up fails (``truncated``) instead of being published
        # with the pages it has: it may be a writer's pause longer than that, and the
        # service never publishes a short document (``retry --accept-truncated`` converts it).
        self.options = replace(options, refuse_truncated=True)
        self.on_result = on_result
        self.report_path = report_path
        self.stop = stop or threading.Event()
        self.report = report if report is not None else Report()
        self._event_source = events
        self._events: queue.SimpleQueue[Path] = queue.SimpleQueue()
        self._claims: Claims | None = None
        self._inbox = Path(os.path.abspath(settings.inbox))
        # The last parse answer for each pending file, with the (size, mtime) it was for.
        self._parsed: dict[Path, tuple[tuple[int, int], Parse]] = {}
        # Seconds between scans: --poll, or automatic where events are not delivered.
        self._poll = settings.poll
        if events is None and self._poll is None:
            self._poll = settings.rescan
        if self._poll is None and filesystem_type(settings.inbox) in NETWORK_FILESYSTEMS:
            self._poll = _AUTO_POLL

    def describe(self) -> str:
        s = self.settings
        finding = (
            f"scans every {self._poll:g} s"
            if self._poll
            else f"file events + a rescan every {s.rescan:g} s"
        )
        originals = "deleted" if s.delete_originals else f"moved to {s.done}"
        return (
            f"watching {s.inbox} ({finding}; files still for {s.settle:g} s) -> "
            f"{s.outdir}; originals {originals}; failures to {s.failed}"
        )

    def run(self) -> Report:
        """Serve until ``stop`` is set (SIGTERM, Ctrl-C): then KeyboardInterrupt."""
        s = self.settings
        s.check(self.report_path)
        check_environment(self.options)
        if not s.delete_originals:
            prepare_folder(s.done, "the done folder (--done)")
        prepare_folder(s.failed)
        # One writer per OUTDIR: a second service here is a standby until the first stops.
        writer = WriterLock(s.outdir)
        writer.acquire(wait=True, stop=self.stop, on_wait=self.on_start)
        try:
            self._serve(writer)
        finally:
            writer.release()
        return self.report

    def _serve(self, writer: WriterLock) -> None:
        s = self.settings
        Claims.recover(s.inbox)
        self._claims = Claims(s.inbox)
        executor = None
        if self.cluster is not None:
            executor = ClusterExecutor(self.cluster[0], s.outdir, self.cluster[1], [s.inbox])
        pipeline = Pipeline(
            s.outdir,
            self.options,
            journal_path=s.journal_path,
            report_path=self.report_path,
            append_report=True,  # a service restarts: earlier starts' lines are kept
            stop=self.stop,
            on_conflict=s.on_conflict,
            report=self.report,
            index=self.index,
            on_notice=self.on_problem,
            writer=writer,
            executor=executor,
        )
        if self.on_start is not None:
            self.on_start(self.describe())
        if not self._poll:
            threading.Thread(target=self._listen, daemon=True).start()
        try:
            for result in pipeline.run(Feed(self._feed(), FeedTraits(drops=True))):
                self._dispose(result)
        finally:
            self.stop.set()
            self._claims.release_all()

    def _listen(self) -> None:
        assert self._event_source is not None
        try:
            for batch in self._event_source(self.settings.inbox, self.stop):
                for path in batch:
                    self._events.put(path)
        except Exception:  # no events (inotify limits, odd filesystems):
            self._poll = _AUTO_POLL  # scan often instead

    def _feed(self) -> Iterator[Input | None]:
        s, claims = self.settings, self._claims
        assert claims is not None
        settler = Settler(s.settle, max(s.give_up, s.settle))
        next_scan = 0.0
        while not self.stop.is_set():
            if time.monotonic() >= next_scan:
                for path in scan(s.inbox):
                    self._events.put(path)
                next_scan = time.monotonic() + (self._poll or s.rescan)
            self._take_events(settler)
            for path in settler.pending():
                item = self._consider(path, settler, claims)
                if item is not None:
                    yield item
            yield None
            self.stop.wait(_TICK)

    def _take_events(self, settler: Settler) -> None:
        inbox = self.settings.inbox
        while True:
            try:
                path = self._events.get_nowait()
            except queue.Empty:
                return
            if path.is_dir() and not path.is_symlink():  # a folder moved in as a whole
                for inner in scan(path):
                    self._events.put(inner)
                continue
            try:
                rel = path.relative_to(inbox)
            except ValueError:
                continue
            if any(is_temporary(part) for part in rel.parts) or not takeable(path, inbox):
                settler.forget(path)
                continue
            try:
                st = path.stat()
            except OSError:
                continue  # gone already
            settler.observe(path, st.st_size, st.st_mtime_ns)

    def _consider(self, path: Path, settler: Settler, claims: Claims) -> Input | None:
        try:
            st = path.stat()
        except OSError:
            settler.forget(path)  # gone (another watcher took it, or the user did)
            self._parsed.pop(path, None)
            return None
        still_for = settler.observe(path, st.st_size, st.st_mtime_ns)
        if not settler.ready(path, still_for, lambda: self._parses(path, st)):
            return None
        settler.forget(path)
        self._parsed.pop(path, None)
        rel = PurePath(path.relative_to(self.settings.inbox))
        try:
            claimed = claims.claim(path)
        except OSError as exc:
            self._problem(f"{path}: cannot claim it ({exc.strerror or exc}); left in the inbox")
            return None
        if claimed is None:
            return None
        kind, work = examine(claimed)
        if kind == "unsupported" and is_archive(claimed):
            kind = "archive"  # said so: a drop is one document, never a folder of them
        identity = escaped(str(self._inbox / rel))  # never an archive member's
        return Input(identity, claimed, kind, rel.parent, rel.name, work)

    def _parses(self, path: Path, st: os.stat_result) -> Parse:
        """``parses(path)``, asked again only when the file has changed: a still file that
        does not parse (damaged) would otherwise be reopened every tick until --give-up."""
        key = (st.st_size, st.st_mtime_ns)
        known = self._parsed.get(path)
        if known is None or known[0] != key:
            known = self._parsed[path] = (key, parses(path))
        return known[1]

    def _dispose(self, result: FileResult) -> None:
        """The original leaves its claim only now: its outputs (if any) are published."""
        s, claimed = self.settings, result.source
        if claimed is None or result.reason == "disk_full" or not claimed.exists():
            self._tell(result)
            return  # stays claimed; put back into the inbox at the stop, done next time
        rel = identity_path(str(result.input)).relative_to(self._inbox)
        try:
            if result.status == "converted" or result.reason == "up_to_date":
                if s.delete_originals:
                    claimed.unlink()
                else:
                    target = free_name(s.done / rel.parent / claimed.name)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.move(claimed, target)
            else:
                keep_failed_input(result, claimed, rel.parent, s.failed, 1, move=True)
        except OSError as exc:
            self._problem(
                f"{result.input}: the original could not be moved out of its claim "
                f"({exc.strerror or exc}); it goes back into the inbox at the stop"
            )
        self._tell(result)

    def _tell(self, result: FileResult) -> None:
        if self.on_result is not None:
            self.on_result(replace(result, source=None))

    def _problem(self, text: str) -> None:
        if self.on_problem is not None:
            self.on_problem(text)
