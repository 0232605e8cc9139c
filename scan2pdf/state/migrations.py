"""The journal's schema, its version (SQLite's ``user_version``) and the steps between versions.

- 1 (scan2pdf 0.1.0, ``user_version`` 0): ``files`` keyed by ``source``, the path an input
  was read from, relative when the command was given relative paths; in watch a claim
  path (``INBOX/.scan2pdf/claims/<owner>/<rel>``).
- 2: ``files`` rows have an id and an ``identity`` (``core/jobs.py``); several rows may
  share an identity (a name dropped again into a hot folder with new content is a new
  input). Rows whose outputs moved to another input hold no output paths.
- 3: ``quality`` and ``made_by`` (the OCR confidence and the versions behind each output).
- 4: ``published``, the size and SHA-256 of every output as it was published (JSON, by
  path), which reuse and ``scan2pdf verify`` check outputs against; ``pending``, what a
  row in ``publishing`` becomes once its renames are done (a copy or move of earlier
  outputs, and where they came from), so a kill -9 mid-way is settled either way.

Each step runs in one transaction: a journal is either at the old version or the new.
"""

from __future__ import annotations

import os
import re
import sqlite3

CURRENT = 4

_TABLES = """
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY,
    identity TEXT NOT NULL,
    size INTEGER, mtime_ns INTEGER, inode INTEGER,
    content TEXT, fingerprint TEXT,
    status TEXT NOT NULL, reason TEXT, message TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    output TEXT, sidecar TEXT, pages INTEGER, ocr_pages INTEGER,
    first_seen REAL NOT NULL, updated REAL NOT NULL,
    quality TEXT, made_by TEXT,
    published TEXT, pending TEXT
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    file INTEGER, identity TEXT NOT NULL, content TEXT, fingerprint TEXT,
    status TEXT NOT NULL, reason TEXT, at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (fingerprint TEXT PRIMARY KEY, options TEXT NOT NULL);
"""
_INDEXES = """
CREATE INDEX IF NOT EXISTS files_by_identity ON files (identity, id);
CREATE INDEX IF NOT EXISTS files_by_content ON files (content, fingerprint, status);
CREATE INDEX IF NOT EXISTS files_by_output ON files (output);
"""
# Version 1's watch identities were claim paths; the input was dropped at INBOX/<rel>.
_CLAIM_PATH = re.compile(r"/\.scan2pdf/claims/[^/]+/")


def version(db: sqlite3.Connection) -> int:
    """The schema version of an open journal; 0 for an empty database."""
    found = int(db.execute("PRAGMA user_version").fetchone()[0])
    if found:
        return found
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    return 1 if "files" in tables else 0


def migrate(db: sqlite3.Connection) -> int:
    """Bring the journal to ``CURRENT``; return the version it had. Newer ones are left alone."""
    found = version(db)
    if found > CURRENT:
        return found
    if found == CURRENT:
        return found
    db.execute("BEGIN IMMEDIATE")
    try:
        if found == 0:
            _execute_all(db, _TABLES + _INDEXES)
        if found == 1:
            _v1_to_v2(db)  # makes the current table at once
        if found == 2:
            _v2_to_v3(db)
        if found in (2, 3):
            _v3_to_v4(db)
        db.execute(f"PRAGMA user_version = {CURRENT}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return found


def _v1_to_v2(db: sqlite3.Connection) -> None:
    db.execute("ALTER TABLE files RENAME TO files_v1")
    db.execute("DROP INDEX IF EXISTS files_by_content")
    _execute_all(db, _TABLES)  # files anew; events and settings exist already
    db.execute(
        "INSERT INTO files (identity, size, mtime_ns, inode, content, fingerprint, status, "
        "reason, message, attempts, output, sidecar, pages, ocr_pages, first_seen, updated) "
        "SELECT source, size, mtime_ns, inode, content, fingerprint, status, reason, message, "
        "attempts, CASE WHEN status = 'moved' THEN NULL ELSE output END, "
        "CASE WHEN status = 'moved' THEN NULL ELSE sidecar END, pages, ocr_pages, "
        "first_seen, updated FROM files_v1 ORDER BY first_seen"
    )
    db.execute("DROP TABLE files_v1")
    db.execute("ALTER TABLE events RENAME COLUMN source TO identity")
    db.execute("ALTER TABLE events ADD COLUMN file INTEGER")
    # Identities and outputs become absolute: version 1 kept paths as given, relative to
    # the directory the command ran in. A re-run is made from there, so they resolve
    # against the directory this one runs in.
    for table in ("files", "events"):
        rows = db.execute(f"SELECT DISTINCT identity FROM {table}").fetchall()
        for (old,) in rows:
            new = _CLAIM_PATH.sub("/", os.path.abspath(old))
            if new != old:
                db.execute(f"UPDATE {table} SET identity = ? WHERE identity = ?", (new, old))
    rows = db.execute("SELECT id, output, sidecar FROM files WHERE output IS NOT NULL").fetchall()
    for row_id, output, sidecar in rows:
        absolute = (os.path.abspath(output), os.path.abspath(sidecar) if sidecar else None)
        if absolute != (output, sidecar):
            db.execute("UPDATE files SET output = ?, sidecar = ? WHERE id = ?", (*absolute, row_id))
    db.execute(
        "UPDATE events SET file = (SELECT id FROM files WHERE files.identity = events.identity)"
    )
    _execute_all(db, _INDEXES)


def _v2_to_v3(db: sqlite3.Connection) -> None:
    db.execute("ALTER TABLE files ADD COLUMN quality TEXT")
    db.execute("ALTER TABLE files ADD COLUMN made_by TEXT")


def _v3_to_v4(db: sqlite3.Connection) -> None:
    # Outputs journalled before have no published hashes: they are hashed when next
    # found up to date (``core/resume.py``), and never copied to another input until then.
    db.execute("ALTER TABLE files ADD COLUMN published TEXT")
    db.execute("ALTER TABLE files ADD COLUMN pending TEXT")


def _execute_all(db: sqlite3.Connection, script: str) -> None:
    """Statement by statement: ``executescript`` would COMMIT the open transaction first."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)
