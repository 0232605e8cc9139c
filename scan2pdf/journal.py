"""The durable memory of an output folder: what was converted, from which content, how.

An SQLite database (default ``<OUTDIR>/.scan2pdf/journal.sqlite``) in WAL mode, written by
the coordinator alone. Every state change is one autocommitted statement, so a kill -9 at
any moment leaves the journal as it was after the last complete change; SQLite's WAL makes
that so against a killed process (not a lost disk cache: synchronous=NORMAL).

- ``files``: one row per input path: the cheap identity of the file as last seen (size,
  mtime, inode), its content hash, the fingerprint of the options that shaped its output,
  its status (``running`` means in flight, or interrupted: it is redone), reason, message,
  attempts, output paths and page counts.
- ``events``: one row per finished attempt, never updated: the history that shows no
  content was converted twice with the same options.
- ``settings``: the options behind each fingerprint, so ``retry`` can run them again.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scan2pdf.errors import DiskFullError

SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    source TEXT PRIMARY KEY,
    size INTEGER, mtime_ns INTEGER, inode INTEGER,
    content TEXT, fingerprint TEXT,
    status TEXT NOT NULL, reason TEXT, message TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    output TEXT, sidecar TEXT, pages INTEGER, ocr_pages INTEGER,
    first_seen REAL NOT NULL, updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS files_by_content ON files (content, fingerprint, status);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL, content TEXT, fingerprint TEXT,
    status TEXT NOT NULL, reason TEXT, at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (fingerprint TEXT PRIMARY KEY, options TEXT NOT NULL);
"""


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
    source: str
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


def content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def default_path(outdir: Path) -> Path:
    return outdir / ".scan2pdf" / "journal.sqlite"


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Autocommit: every statement is its own transaction, durable when it returns.
            self._db = sqlite3.connect(path, isolation_level=None, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
        except sqlite3.OperationalError as exc:
            raise _as_disk_full(exc) from exc

    @classmethod
    def open_existing(cls, path: Path) -> Journal | None:
        return cls(path) if path.exists() else None

    def close(self) -> None:
        self._db.close()

    # ---- reading ---------------------------------------------------------------------

    def lookup(self, source: Path) -> Entry | None:
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM files WHERE source = ?", (str(source),)
        ).fetchone()
        return _entry(row) if row else None

    def converted_twin(self, content: str, fingerprint: str) -> Entry | None:
        """The latest conversion of this content with these options, any path."""
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM files WHERE content = ? AND fingerprint = ? "
            "AND status = 'converted' ORDER BY updated DESC LIMIT 1",
            (content, fingerprint),
        ).fetchone()
        return _entry(row) if row else None

    def entries(self, status: str | None = None, reason: str | None = None) -> list[Entry]:
        query, args = f"SELECT {_COLUMNS} FROM files WHERE 1=1", list[str]()
        if status:
            query, args = query + " AND status = ?", [*args, status]
        if reason:
            query, args = query + " AND reason = ?", [*args, reason]
        return [_entry(row) for row in self._db.execute(query + " ORDER BY source", args)]

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
        """How often each (source, content, options) was converted, from the history."""
        rows = self._db.execute(
            "SELECT source, content, fingerprint FROM events WHERE status = 'converted'"
        )
        return Counter((s, c, f) for s, c, f in rows)

    # ---- writing ---------------------------------------------------------------------

    def remember_options(self, fingerprint: str, options: dict[str, object]) -> None:
        self._write(
            "INSERT OR IGNORE INTO settings VALUES (?, ?)",
            (fingerprint, json.dumps(options, sort_keys=True)),
        )

    def started(
        self, source: Path, seen: Seen, content: str, fingerprint: str, output: Path, sidecar: Path
    ) -> None:
        now = time.time()
        self._write(
            "INSERT INTO files (source, size, mtime_ns, inode, content, fingerprint, status, "
            "attempts, output, sidecar, first_seen, updated) "
            "VALUES (?, ?, ?, ?, ?, ?, 'running', 1, ?, ?, ?, ?) "
            "ON CONFLICT (source) DO UPDATE SET size = excluded.size, "
            "mtime_ns = excluded.mtime_ns, inode = excluded.inode, content = excluded.content, "
            "fingerprint = excluded.fingerprint, status = 'running', reason = NULL, "
            "message = NULL, attempts = files.attempts + 1, output = excluded.output, "
            "sidecar = excluded.sidecar, updated = excluded.updated",
            (
                str(source),
                seen.size,
                seen.mtime_ns,
                seen.inode,
                content,
                fingerprint,
                str(output),
                str(sidecar),
                now,
                now,
            ),
        )

    def finished(
        self,
        source: Path,
        status: str,
        reason: str | None,
        message: str | None,
        pages: int | None = None,
        ocr_pages: int | None = None,
    ) -> None:
        now = time.time()
        self._write(
            "UPDATE files SET status = ?, reason = ?, message = ?, pages = ?, ocr_pages = ?, "
            "updated = ? WHERE source = ?",
            (status, reason, message, pages, ocr_pages, now, str(source)),
        )
        self._write(
            "INSERT INTO events (source, content, fingerprint, status, reason, at) "
            "SELECT source, content, fingerprint, ?, ?, ? FROM files WHERE source = ?",
            (status, reason, now, str(source)),
        )

    def seen_again(self, source: Path, seen: Seen) -> None:
        """Same content under a new mtime (touched, copied back): remember the new identity."""
        self._write(
            "UPDATE files SET size = ?, mtime_ns = ?, inode = ?, updated = ? WHERE source = ?",
            (seen.size, seen.mtime_ns, seen.inode, time.time(), str(source)),
        )

    def _write(self, sql: str, args: tuple[object, ...]) -> None:
        try:
            self._db.execute(sql, args)
        except sqlite3.OperationalError as exc:
            raise _as_disk_full(exc) from exc


_COLUMNS = (
    "source, size, mtime_ns, inode, content, fingerprint, status, reason, message, "
    "attempts, output, sidecar, pages, ocr_pages"
)


def _entry(row: Any) -> Entry:
    """A ``files`` row (columns in ``_COLUMNS`` order) as an Entry."""
    (
        source,
        size,
        mtime_ns,
        inode,
        content,
        fingerprint,
        status,
        reason,
        message,
        attempts,
        output,
        sidecar,
        pages,
        ocr_pages,
    ) = row
    return Entry(
        source,
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
        ocr_pages,
    )


def _as_disk_full(exc: sqlite3.OperationalError) -> Exception:
    if "full" in str(exc).lower():
        return DiskFullError(f"No space left on the device for the journal ({exc}).")
    return exc


def usable(path: str | None) -> bool:
    """An output recorded in the journal that is still there."""
    return path is not None and os.path.exists(path)
