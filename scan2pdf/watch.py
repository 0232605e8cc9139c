"""``scan2pdf watch``: a hot folder that never loses a file and never converts one twice.

How a dropped file goes through:

1. **Found**: by a scan at start, native file events (watchfiles; inotify) between scans,
   and a full rescan every ``rescan`` seconds, or, with ``poll``, by scans alone every
   ``poll`` seconds (network shares often deliver no events). Folders moved in as a whole
   are found by the next event or scan. Hidden, temporary and system files, special
   files and symlinks that lead out of the inbox are never taken.
2. **Settled**: taken only once its size and mtime have not changed for ``settle``
   seconds and it parses (a PDF opens, an image decodes every frame). A file that stays
   still but never parses is taken after ``give_up`` seconds, and fails with its reason.
3. **Claimed** by an atomic rename into ``INBOX/.scan2pdf/claims/<owner>/<rel>``: of two
   watchers on one inbox, exactly one wins each file. Claims of an owner that died are
   put back into the inbox at the next start.
4. **Converted** by the same engine, scheduler and journal as ``convert``; outputs are
   published atomically at ``OUTDIR/<rel>/<name>.pdf`` and ``.txt``.
5. **Finished**: only after its outputs are published does the original leave its claim:
   to ``done`` (mirrored), or deleted with ``delete_originals``. A failure moves it to
   ``failed`` (mirrored) with ``<name>.error.json`` beside it. Defaults keep both in the
   inbox's hidden ``.scan2pdf/`` folder, so nothing is ever lost.
"""

from __future__ import annotations

import os
import queue
import shutil
import socket
import stat
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from PIL import Image, ImageSequence

from scan2pdf.batch import _Batch
from scan2pdf.discover import Job, is_ignored, sniff
from scan2pdf.errors import UsageError
from scan2pdf.failures import free_name, keep_failed_input
from scan2pdf.journal import default_path
from scan2pdf.options import Options
from scan2pdf.report import FileResult, Report
from scan2pdf.scratch import alive
from scan2pdf.tools import check_environment
from scan2pdf.workload import Work, estimate

WORK = ".scan2pdf"  # inside INBOX; hidden, so never scanned as input
# Names that tools give files while they are still being written.
_TEMPORARY_SUFFIXES = (
    ".part",
    ".partial",
    ".tmp",
    ".temp",
    ".crdownload",
    ".download",
    ".swp",
    "~",
)
_TICK = 0.25  # seconds between looks at the inbox's pending files
# Where inotify sees only this machine's own writes: files dropped by other hosts (a copier
# writing to the share) make no events, so such inboxes are polled.
_NETWORK_FILESYSTEMS = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "fuse.sshfs",
        "9p",
        "afs",
        "ceph",
        "glusterfs",
        "davfs",
        "fuse.rclone",
    }
)
_AUTO_POLL = 2.0  # seconds between scans when events cannot be relied on


def filesystem_type(path: Path) -> str | None:
    """The type of the filesystem holding ``path`` (from /proc/self/mounts), if known."""
    try:
        mounts = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return None
    real, best, kind = path.resolve(), -1, None
    for line in mounts:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = Path(fields[1].replace("\\040", " "))
        if (real == point or point in real.parents) and len(point.parts) > best:
            best, kind = len(point.parts), fields[2]
    return kind


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
    give_up: float = 60.0  # a still file that never parses is taken after this long
    journal_path: Path | None = None

    @property
    def done(self) -> Path:
        return self.done_dir or self.inbox / WORK / "done"

    @property
    def failed(self) -> Path:
        return self.failed_dir or self.inbox / WORK / "failed"

    def check(self) -> None:
        """Refuse layouts where the service would read its own outputs as new scans."""
        inbox = self.inbox.resolve()
        if not inbox.is_dir():
            raise UsageError(f"The inbox '{self.inbox}' is not a folder.")
        for label, folder in (
            ("output folder", self.outdir),
            ("done folder", self.done_dir),
            ("failed folder", self.failed_dir),
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


# ---- finding and settling --------------------------------------------------------------


def is_temporary(name: str) -> bool:
    return is_ignored(name) or name.lower().endswith(_TEMPORARY_SUFFIXES)


def scan(inbox: Path) -> Iterator[Path]:
    """Every file in the inbox that could be a scan, without following links out of it."""
    stack = [inbox]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if is_temporary(entry.name):
                continue
            path = Path(entry.path)
            if entry.is_dir(follow_symlinks=False):
                stack.append(path)
            elif takeable(path, inbox):
                yield path


def takeable(path: Path, inbox: Path) -> bool:
    """A regular file, or a symlink to one inside the inbox (never FIFOs, devices...)."""
    try:
        if path.is_symlink() and inbox.resolve() not in path.resolve().parents:
            return False
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False


@dataclass
class _Still:
    size: int
    mtime_ns: int
    since: float


@dataclass
class Settler:
    """Remembers when each pending file last changed; says when it has been still long enough."""

    settle: float
    give_up: float
    clock: Callable[[], float] = time.monotonic
    _files: dict[Path, _Still] = field(default_factory=dict)

    def observe(self, path: Path, size: int, mtime_ns: int) -> float:
        """Record what the file looks like now; return for how long it has looked so."""
        now = self.clock()
        still = self._files.get(path)
        if still is None or (still.size, still.mtime_ns) != (size, mtime_ns):
            self._files[path] = still = _Still(size, mtime_ns, now)
        return now - still.since

    def forget(self, path: Path) -> None:
        self._files.pop(path, None)

    def pending(self) -> list[Path]:
        return list(self._files)

    def ready(self, path: Path, still_for: float, parses: Callable[[], bool]) -> bool:
        if still_for < self.settle:
            return False
        return still_for >= self.give_up or parses()


def parses(path: Path) -> bool:
    """A PDF opens; an image decodes, every frame. False while a file is still incomplete."""
    kind = sniff(path)
    try:
        if kind == "pdf":
            import pikepdf

            with pikepdf.open(path) as pdf:
                return len(pdf.pages) > 0
        if kind == "image":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with Image.open(path) as image:
                    for frame in ImageSequence.Iterator(image):
                        frame.load()
            return True
    except Exception:
        return False
    return True  # not a scan at all: nothing to wait for; it is reported as unsupported


# ---- claiming ----------------------------------------------------------------------------


class Claims:
    """This watcher's claimed files, under INBOX/.scan2pdf/claims/<host>-<pid>/<rel>."""

    def __init__(self, inbox: Path) -> None:
        self.inbox = inbox
        self.root = inbox / WORK / "claims" / f"{socket.gethostname()}-{os.getpid()}"
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root.parent / f"{self.root.name}.pid").write_text(str(os.getpid()))

    def claim(self, path: Path) -> Path | None:
        """Rename ``path`` into our claims; None if another watcher was faster."""
        target = self.root / path.relative_to(self.inbox)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(path, target)  # atomic on one filesystem: exactly one claimer wins
        except FileNotFoundError:
            return None
        return target

    def rel(self, claimed: Path) -> Path:
        return claimed.relative_to(self.root)

    def release_all(self) -> None:
        """Put unfinished claims back into the inbox (a clean stop)."""
        _return_claims(self.root, self.inbox)
        shutil.rmtree(self.root, ignore_errors=True)
        (self.root.parent / f"{self.root.name}.pid").unlink(missing_ok=True)

    @staticmethod
    def recover(inbox: Path) -> int:
        """Put back the claims of watchers on this host that died (kill -9, power cut)."""
        claims, host, returned = inbox / WORK / "claims", socket.gethostname(), 0
        for pid_file in claims.glob(f"{host}-*.pid") if claims.exists() else []:
            try:
                pid = int(pid_file.read_text())
            except (OSError, ValueError):
                continue
            if alive(pid) and pid != os.getpid():
                continue
            owner = claims / pid_file.stem
            returned += _return_claims(owner, inbox)
            shutil.rmtree(owner, ignore_errors=True)
            pid_file.unlink(missing_ok=True)
        return returned


def _return_claims(owner: Path, inbox: Path) -> int:
    count = 0
    for path in sorted(p for p in owner.rglob("*") if p.is_file()):
        target = free_name(inbox / path.relative_to(owner))
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(path, target)
        count += 1
    return count


# ---- the service -------------------------------------------------------------------------


class Watcher:
    def __init__(
        self,
        settings: WatchSettings,
        options: Options,
        on_result: Callable[[FileResult], None] | None = None,
        report_path: Path | None = None,
        report: Report | None = None,
        on_start: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.on_start = on_start  # told what is watched and how, once it really starts
        self.options = options
        self.on_result = on_result
        self.report_path = report_path
        self.stop = threading.Event()
        self.report = report if report is not None else Report()
        self._events: queue.SimpleQueue[Path] = queue.SimpleQueue()
        self._claims: Claims | None = None
        self._index = 0
        # The last parse answer for each pending file, with the (size, mtime) it was for.
        self._parsed: dict[Path, tuple[tuple[int, int], bool]] = {}
        # Seconds between scans: --poll, or automatic where events are not delivered.
        self._poll = settings.poll
        if self._poll is None and filesystem_type(settings.inbox) in _NETWORK_FILESYSTEMS:
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
        """Serve until ``stop`` is set (SIGTERM, Ctrl-C); return the totals."""
        s = self.settings
        s.check()
        check_environment(self.options)
        Claims.recover(s.inbox)
        self._claims = Claims(s.inbox)
        if self.on_start is not None:
            self.on_start(self.describe())
        events = None if self._poll else threading.Thread(target=self._listen, daemon=True)
        if events:
            events.start()
        batch = _Batch(
            s.outdir,
            self.options,
            self.report,
            self.report_path,
            self._finished,
            s.journal_path or default_path(s.outdir),
            None,
            trust_mtimes=False,
            shown_as=self._dropped_at,
        )
        try:
            batch.run(self._feed(), peek=False)
        finally:
            self.stop.set()
            self._claims.release_all()
        return self.report

    def _listen(self) -> None:
        """Native file events, as hints: every path they name is looked at by the feed."""
        try:
            from watchfiles import watch
        except ImportError:
            return  # scans alone still find everything
        try:
            for changes in watch(
                self.settings.inbox,
                stop_event=self.stop,
                debounce=200,
                raise_interrupt=False,
                yield_on_timeout=True,
                rust_timeout=1000,
            ):
                for _, name in changes:
                    self._events.put(Path(name))
        except Exception:  # no events (inotify limits, odd filesystems):
            self._poll = _AUTO_POLL  # scan often instead

    def _feed(self) -> Iterator[Job | None]:
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
                job = self._consider(path, settler, claims)
                if job is not None:
                    yield job
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

    def _consider(self, path: Path, settler: Settler, claims: Claims) -> Job | None:
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
        claimed = claims.claim(path)
        if claimed is None:
            return None
        rel = claims.rel(claimed)
        kind = sniff(claimed)
        pdf = self.settings.outdir / rel.parent / f"{rel.stem}.pdf"
        self._index += 1
        work = estimate(claimed, kind) if kind in ("pdf", "image") else Work()
        return Job(claimed, kind, pdf, pdf.with_suffix(".txt"), self._index, work)

    def _parses(self, path: Path, st: os.stat_result) -> bool:
        """``parses(path)``, asked again only when the file has changed: a still file that
        does not parse (damaged) would otherwise be reopened every tick until --give-up."""
        key = (st.st_size, st.st_mtime_ns)
        known = self._parsed.get(path)
        if known is None or known[0] != key:
            known = self._parsed[path] = (key, parses(path))
        return known[1]

    def _dropped_at(self, claimed: Path) -> Path:
        assert self._claims is not None
        try:
            return self.settings.inbox / self._claims.rel(claimed)
        except ValueError:
            return claimed

    def _finished(self, result: FileResult) -> None:
        """The original leaves its claim only now: its outputs (if any) are published.

        ``result.input`` names where the file was dropped; the file itself is in our claims.
        """
        claims, s = self._claims, self.settings
        assert claims is not None
        rel = result.input.relative_to(s.inbox)
        claimed = claims.root / rel
        if result.reason == "disk_full" or not claimed.exists():
            return  # stays claimed; put back into the inbox at the stop, done next time
        if result.status == "converted" or result.reason == "up_to_date":
            if s.delete_originals:
                claimed.unlink()
            else:
                target = free_name(s.done / rel)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(claimed, target)
        else:
            keep_failed_input(
                replace(result, input=claimed),
                rel.parent,
                s.failed,
                1,
                move=True,
                dropped_at=result.input,
            )
        if self.on_result is not None:
            self.on_result(result)
