"""The durable memory of an output folder: what was converted, from which content, how.

An SQLite database (default ``<OUTDIR>/.scan2pdf/journal.sqlite``) in WAL mode, written by
the coordinator alone. Every state change is one autocommitted statement, so a kill -9 at
any moment leaves the journal as it was after the last complete change; SQLite's WAL makes
that so against a killed process (not a lost disk cache: synchronous=NORMAL). The schema
and its versions are in ``migrations.py``.

- ``files``: one row per input: its identity (``core/jobs.py``), the cheap fingerprint of
  the file as last seen (size, mtime, inode), its content hash, the fingerprint of the
  options that shaped its output, its status (``running`` means in flight, or
  interrupted: it is redone; ``publishing``, that its outputs are being renamed into
  place: ``settle`` tells after a kill whether they were), reason, message, attempts,
  output paths and page counts, and ``published``: the size and SHA-256 of each output
  as it was published, which every reuse checks first and ``scan2pdf verify`` audits.
- ``events``: one row per finished attempt, never updated: the history that shows no
  content was converted twice with the same options.
- ``settings``: the options behind each fingerprint, so ``retry`` can run them again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scan2pdf.errors import DiskFullError, LocationError, location_error
from scan2pdf.state import migrations
from scan2pdf.state.publish import Digest, digest_of
from scan2pdf.state.sqlite import problem

# How long a statement waits for a lock another program holds on the journal. Only
# scan2pdf's coordinator writes it, so a lock that outlasts this is not ours to wait for.
_BUSY_TIMEOUT = 5.0
# Statuses of rows whose output paths no longer belong to them.
_RETIRED = ("moved", "replaced")


@dataclass(frozen=True, slots=True)
class Seen:
    """A file's cheap identity: if all three match, its content is taken as unchanged."""

    size: int
    mtime_ns: int
    inode: int

    @classmethod
    def of(cls, path: Path) -> Seen:
        st = path.stat()
        return cls(st.st_size, st.st_mtime_ns, st.st_ino)


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    identity: str
    seen: Seen
    content: str | None
    fingerprint: str | None
    status: str
    reason: str | None
    message: str | None
    attempts: int
    output: str | None
    sidecar: str | None
    pages: int | None
    ocr_pages: int | None
    # JSON: core/quality.py's Quality and the versions that made the outputs (v3 rows).
    quality: str | None = None
    made_by: str | None = None
    # JSON: {path: {"size", "sha256"}} of the outputs as published (v4 rows).
    published_json: str | None = None

    @property
    def published(self) -> dict[Path, Digest] | None:
        """Each output's path and what was published there; None for rows journalled
        before outputs were hashed (schema 3 and earlier)."""
        return published_of(self.published_json)

    @property
    def done(self) -> bool:
        """Converted (or its outputs copied from a twin), and both outputs still there."""
        return (
            self.status in ("converted", "reused") and usable(self.output) and usable(self.sidecar)
        )


def content_hash(path: Path, stop: threading.Event | None = None) -> str:
    """SHA-256 of the file; KeyboardInterrupt as soon as ``stop`` is set (a 50 GB file
    takes most of a minute to read, and SIGTERM should act within a second)."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
            if stop is not None and stop.is_set():
                raise KeyboardInterrupt
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Pending:
    """What a row in ``publishing`` becomes once its outputs are in place: ``status``
    (``converted``, or ``reused`` for copies of earlier outputs), ``moves`` (final path
    -> the earlier output it is renamed from, for outputs that follow a renamed input)
    and ``retire``, the row those moved outputs belonged to."""

    status: str = "converted"
    moves: dict[str, str] | None = None
    retire: int | None = None

    def dumps(self) -> str:
        return json.dumps({"status": self.status, "moves": self.moves, "retire": self.retire})

    @classmethod
    def loads(cls, text: str | None) -> Pending:
        if not text:
            return cls()
        data = json.loads(text)
        return cls(data.get("status") or "converted", data.get("moves"), data.get("retire"))


def published_json(published: dict[Path, Digest]) -> str:
    return json.dumps({str(path): d.to_json() for path, d in published.items()}, sort_keys=True)


def published_of(text: str | None) -> dict[Path, Digest] | None:
    """``published_json`` read back; None for a row without it."""
    if not text:
        return None
    return {Path(path): Digest.from_json(digest) for path, digest in json.loads(text).items()}


def _copy_into(path: Path, memory: sqlite3.Connection, *, immutable: bool) -> None:
    mode = "mode=ro&immutable=1" if immutable else "mode=ro"
    source = sqlite3.connect(f"{path.absolute().as_uri()}?{mode}", uri=True)
    try:
        source.backup(memory)
    finally:
        source.close()


def _nearly_full(path: Path) -> bool:
    try:
        return shutil.disk_usage(path.parent).free < 1 << 20
    except OSError:
        return False


def _written_since(path: str | None, started: float) -> bool:
    """Whether ``path`` is a file last written at or after ``started`` (an output staged by
    that attempt; one left from an earlier conversion is older)."""
    try:
        # The kernel stamps files from a clock that may lag time.time() by a tick.
        return path is not None and os.stat(path).st_mtime >= started - 0.05
    except OSError:
        return False


def default_path(outdir: Path) -> Path:
    return outdir / ".scan2pdf" / "journal.sqlite"


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise location_error("the journal folder", path.parent, exc) from exc
        try:
            # Autocommit: every statement is its own transaction, durable when it returns.
            self._db = sqlite3.connect(path, isolation_level=None, timeout=_BUSY_TIMEOUT)
        except sqlite3.Error as exc:
            raise self._problem(exc) from exc
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            found = migrations.migrate(self._db)
        except sqlite3.Error as exc:
            self._db.close()
            raise self._problem(exc) from exc
        if found > migrations.CURRENT:
            self._db.close()
            raise _newer(path, found)

    @classmethod
    def open_existing(cls, path: Path) -> Journal | None:
        return cls(path) if path.exists() else None

    @classmethod
    def snapshot(cls, path: Path) -> Journal:
        """An in-memory copy of the journal at ``path`` (empty if there is none): a dry run
        decides exactly as a run would, against this copy, and nothing reaches the disk."""
        journal = cls.__new__(cls)
        journal.path = path
        journal._db = sqlite3.connect(":memory:", isolation_level=None)
        try:
            if path.exists():
                # Without a write-ahead log (no run has it open), "immutable": SQLite then
                # reads the file without making its -wal and -shm files beside it.
                wal = path.with_name(path.name + "-wal")
                live = wal.exists() and wal.stat().st_size > 0
                try:
                    _copy_into(path, journal._db, immutable=not live)
                except sqlite3.Error:
                    if not live:
                        raise
                    # A log SQLite cannot read without writing its -shm (a full disk, a
                    # read-only mount): the file as it is, without the last moments' rows.
                    _copy_into(path, journal._db, immutable=True)
            found = migrations.migrate(journal._db)
            if found > migrations.CURRENT:
                # Read as this version's, its rows would be misread (status, --dry-run,
                # verify): refused as a run refuses it.
                journal._db.close()
                raise _newer(path, found)
            journal.settle(dry=True)  # as the next run will see it (nothing is written)
        except sqlite3.Error as exc:
            journal._db.close()
            raise journal._problem(exc) from exc
        return journal

    def converted_sizes(self) -> set[int]:
        """Sizes of inputs whose outputs count as converted: a file of another size cannot
        be their twin, so a dry run hashes only files of these sizes."""
        rows = self._db.execute(
            "SELECT DISTINCT size FROM files WHERE status IN ('converted', 'reused')"
        )
        return {int(size) for (size,) in rows if size is not None}

    def close(self) -> None:
        self._db.close()

    # ---- reading ---------------------------------------------------------------------

    def latest(self, identity: str) -> Entry | None:
        """The newest row for this identity (a hot folder may have had several inputs there)."""
        return self._one(
            f"SELECT {_COLUMNS} FROM files WHERE identity = ? ORDER BY id DESC", identity
        )

    def entry(self, row: int) -> Entry | None:
        return self._one(f"SELECT {_COLUMNS} FROM files WHERE id = ?", row)

    def owner(self, output: Path) -> Entry | None:
        """The input whose outputs are (or are to be) at ``output``."""
        return self._one(
            f"SELECT {_COLUMNS} FROM files WHERE output = ? AND status NOT IN {_RETIRED} "
            "ORDER BY id DESC",
            str(output),
        )

    def converted_twin(self, content: str, fingerprint: str) -> Entry | None:
        """The newest input with this content and options whose outputs are still there."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM files WHERE content = ? AND fingerprint = ? "
            "AND status IN ('converted', 'reused') ORDER BY updated DESC LIMIT 8",
            (content, fingerprint),
        )
        return next((e for e in map(_entry, rows) if e.done), None)

    def entries(self, status: str | None = None, reason: str | None = None) -> list[Entry]:
        query, args = f"SELECT {_COLUMNS} FROM files WHERE 1=1", list[str]()
        if status:
            query, args = query + " AND status = ?", [*args, status]
        if reason:
            query, args = query + " AND reason = ?", [*args, reason]
        return [_entry(row) for row in self._db.execute(query + " ORDER BY identity, id", args)]

    def rated(self) -> list[Entry]:
        """Converted inputs whose OCR confidence is recorded (schema 3 and later)."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM files WHERE status IN ('converted', 'reused') "
            "AND quality IS NOT NULL ORDER BY id"
        )
        return [_entry(row) for row in rows]

    def outputs(self) -> Iterator[tuple[str, str, str]]:
        """(identity, pdf, sidecar) of every input whose outputs count as converted."""
        rows = self._db.execute(
            "SELECT identity, output, sidecar FROM files WHERE status IN ('converted', 'reused') "
            "AND output IS NOT NULL AND sidecar IS NOT NULL ORDER BY id"
        )
        yield from rows

    def options_for(self, fingerprint: str) -> dict[str, object] | None:
        row = self._db.execute(
            "SELECT options FROM settings WHERE fingerprint = ?", (fingerprint,)
        ).fetchone()
        return json.loads(row[0]) if row else None

    def summary(self) -> tuple[Counter[str], Counter[str]]:
        """(count by status, failures by reason)."""
        statuses: Counter[str] = Counter()
        reasons: Counter[str] = Counter()
        for status, reason, count in self._db.execute(
            "SELECT status, reason, COUNT(*) FROM files GROUP BY status, reason"
        ):
            statuses[status] += count
            if status == "failed":
                reasons[reason or "unknown"] += count
        return statuses, reasons

    def conversions(self) -> Counter[tuple[str, str, str]]:
        """How often each (identity, content, options) was converted, from the history."""
        rows = self._db.execute(
            "SELECT identity, content, fingerprint FROM events WHERE status = 'converted'"
        )
        return Counter((s, c, f) for s, c, f in rows)

    def _one(self, sql: str, *args: object) -> Entry | None:
        row = self._db.execute(sql + " LIMIT 1", args).fetchone()
        return _entry(row) if row else None

    # ---- writing ---------------------------------------------------------------------

    def remember_options(self, fingerprint: str, options: dict[str, object]) -> None:
        self._write(
            "INSERT OR IGNORE INTO settings VALUES (?, ?)",
            (fingerprint, json.dumps(options, sort_keys=True)),
        )

    def started(
        self,
        row: int | None,
        identity: str,
        seen: Seen,
        content: str | None,
        fingerprint: str,
        output: Path,
        sidecar: Path,
    ) -> int:
        """Record an attempt (a new row, or another attempt of ``row``); return the row id."""
        now = time.time()
        values = (identity, seen.size, seen.mtime_ns, seen.inode, content, fingerprint)
        if row is None:
            cursor = self._write(
                "INSERT INTO files (identity, size, mtime_ns, inode, content, fingerprint, "
                "status, attempts, output, sidecar, first_seen, updated) "
                "VALUES (?, ?, ?, ?, ?, ?, 'running', 1, ?, ?, ?, ?)",
                (*values, str(output), str(sidecar), now, now),
            )
            assert cursor.lastrowid is not None
            return cursor.lastrowid
        self._write(
            "UPDATE files SET identity = ?, size = ?, mtime_ns = ?, inode = ?, content = ?, "
            "fingerprint = ?, status = 'running', reason = NULL, message = NULL, "
            "attempts = attempts + 1, output = ?, sidecar = ?, updated = ? WHERE id = ?",
            (*values, str(output), str(sidecar), now, row),
        )
        return row

    def publishing(
        self,
        row: int,
        published: dict[Path, Digest],
        pages: int | None,
        ocr_pages: int | None,
        quality: str | None,
        made_by: str | None,
        pending: Pending | None = None,
    ) -> None:
        """The outputs of ``row`` are about to be renamed into place; ``finished`` follows.
        The result and what each output will be are kept now, so that a kill between the
        renames and ``finished`` loses nothing (``settle``). ``updated`` stays the
        attempt's start."""
        self._write(
            "UPDATE files SET status = 'publishing', reason = NULL, message = NULL, pages = ?, "
            "ocr_pages = ?, quality = ?, made_by = ?, published = ?, pending = ? WHERE id = ?",
            (
                pages,
                ocr_pages,
                quality,
                made_by,
                published_json(published),
                (pending or Pending()).dumps(),
                row,
            ),
        )

    def settle(self, *, dry: bool = False) -> list[int]:
        """Rows a killed run left ``publishing``: done (converted, or reused) when every
        output is in place as published, else interrupted (``running``: the next run does
        them again). An output that was to follow a renamed input and is still at its
        earlier path, as published, is renamed now: a move is finished, never left half
        done. ``dry`` (a snapshot in memory): decide the same, rename nothing. Returns the
        rows now done."""
        rows = self._db.execute(
            "SELECT id, output, sidecar, updated, published, pending FROM files "
            "WHERE status = 'publishing'"
        ).fetchall()
        done = []
        for row, output, sidecar, started, published, pending_json in rows:
            pending = Pending.loads(pending_json)
            files = published_of(published)
            if files is not None:
                in_place = _finish_moves(files, pending.moves or {}, dry)
            else:  # a schema 3 attempt: only its outputs' dates tell
                in_place = all(_written_since(path, started) for path in (output, sidecar))
            if not in_place:
                self._write(
                    "UPDATE files SET status = 'running', pending = NULL WHERE id = ?", (row,)
                )
                continue
            now = time.time()
            self._write(
                "UPDATE files SET status = ?, pending = NULL, updated = ? WHERE id = ?",
                (pending.status, now, row),
            )
            self._event(row, pending.status, None, now)
            if pending.retire is not None:
                entry = self.entry(row)
                self.retire(pending.retire, "moved", f"now {entry.identity if entry else row}")
            done.append(row)
        return done

    def bind(self, row: int, published: dict[Path, Digest]) -> None:
        """Record what a row's outputs are now (outputs journalled before they were
        hashed, found up to date: from now on they are held to these bytes)."""
        self._write(
            "UPDATE files SET published = ? WHERE id = ?", (published_json(published), row)
        )

    def published_rows(self) -> Iterator[Entry]:
        """Every input whose outputs count as published (``scan2pdf verify``)."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM files WHERE status IN ('converted', 'reused') ORDER BY id"
        )
        yield from map(_entry, rows)

    def finished(
        self,
        row: int,
        status: str,
        reason: str | None,
        message: str | None,
        pages: int | None = None,
        ocr_pages: int | None = None,
        quality: str | None = None,
        made_by: str | None = None,
    ) -> None:
        now = time.time()
        # A failure keeps no published outputs: whatever is at its paths is not its own.
        self._write(
            "UPDATE files SET status = ?, reason = ?, message = ?, pages = ?, ocr_pages = ?, "
            "quality = ?, made_by = ?, updated = ?, pending = NULL, "
            "published = CASE WHEN ? IN ('converted', 'reused') THEN published END WHERE id = ?",
            (status, reason, message, pages, ocr_pages, quality, made_by, now, status, row),
        )
        self._event(row, status, reason, now)

    def retire(self, row: int, status: str, message: str) -> None:
        """The row's outputs now belong to another input (``moved``) or are gone."""
        now = time.time()
        self._write(
            "UPDATE files SET status = ?, message = ?, output = NULL, sidecar = NULL, "
            "published = NULL, updated = ? WHERE id = ?",
            (status, message, now, row),
        )
        self._event(row, status, None, now)

    def seen_again(self, row: int, seen: Seen) -> None:
        """Same content under a new mtime (touched, copied back): remember the new identity."""
        self._write(
            "UPDATE files SET size = ?, mtime_ns = ?, inode = ?, updated = ? WHERE id = ?",
            (seen.size, seen.mtime_ns, seen.inode, time.time(), row),
        )

    def _event(self, row: int, status: str, reason: str | None, at: float) -> None:
        self._write(
            "INSERT INTO events (file, identity, content, fingerprint, status, reason, at) "
            "SELECT id, identity, content, fingerprint, ?, ?, ? FROM files WHERE id = ?",
            (status, reason, at, row),
        )

    def _write(self, sql: str, args: tuple[object, ...]) -> sqlite3.Cursor:
        try:
            return self._db.execute(sql, args)
        except sqlite3.Error as exc:
            raise self._problem(exc) from exc

    def _problem(self, exc: sqlite3.Error) -> Exception:
        """What an SQLite error means for the run: a full disk, or a journal it cannot use."""
        kind = problem(exc)
        if kind == "other" and "disk i/o" in str(exc).lower() and _nearly_full(self.path):
            kind = "full"  # how SQLite says it when the -wal or -shm file cannot grow
        if kind == "full":
            return DiskFullError(f"No space left on the device for the journal ({exc}).")
        if kind == "locked":
            return LocationError(
                f"The journal '{self.path}' is locked by another program.",
                "Wait for it to finish (another scan2pdf on this OUTDIR?), or give this run "
                "another --journal.",
            )
        if kind == "damaged":
            return LocationError(
                f"The journal '{self.path}' is damaged ({exc}).",
                "Move it aside and run again: outputs newer than their inputs are kept, "
                "the rest is converted again.",
            )
        return LocationError(
            f"Cannot use the journal '{self.path}' ({exc}).",
            "Check that this user may write there, or give this run another --journal.",
        )


_COLUMNS = (
    "id, identity, size, mtime_ns, inode, content, fingerprint, status, reason, message, "
    "attempts, output, sidecar, pages, ocr_pages, quality, made_by, published"
)


def _entry(row: Any) -> Entry:
    """A ``files`` row (columns in ``_COLUMNS`` order) as an Entry."""
    row_id, identity, size, mtime_ns, inode, *rest = row
    content, fingerprint, status, reason, message, attempts, output, sidecar, *counts = rest
    pages, ocr, quality, made_by, published = counts
    return Entry(
        row_id,
        identity,
        Seen(size or 0, mtime_ns or 0, inode or 0),
        content,
        fingerprint,
        status,
        reason,
        message,
        attempts or 0,
        output,
        sidecar,
        pages,
        ocr,
        quality,
        made_by,
        published,
    )


def _finish_moves(files: dict[Path, Digest], moves: dict[str, str], dry: bool) -> bool:
    """Whether every file is at its path as published, renaming into place (unless
    ``dry``) those still at the earlier path a move takes them from."""
    for path, digest in files.items():
        if digest_of(path) == digest:
            continue
        earlier = moves.get(str(path))
        if earlier is None or digest_of(Path(earlier)) != digest:
            return False
        if not dry:
            try:
                os.replace(earlier, path)
            except OSError:
                return False
    return True


def usable(path: str | None) -> bool:
    """An output recorded in the journal that is still there."""
    return path is not None and os.path.exists(path)


def _newer(path: Path, found: int) -> LocationError:
    return LocationError(
        f"The journal '{path}' was written by a newer scan2pdf (schema {found}; this "
        f"one reads up to {migrations.CURRENT}).",
        "Upgrade scan2pdf, or give this run another --journal.",
    )
