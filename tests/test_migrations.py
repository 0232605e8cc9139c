"""The journal's schema version: a journal written by scan2pdf 0.1.0 (schema 1) opens, and
its converted inputs stay up to date; fingerprints of existing option sets do not change."""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from pathlib import Path

import pytest

from scan2pdf import convert
from scan2pdf.core.options import Options
from scan2pdf.core.report import FileResult
from scan2pdf.state.journal import Journal, content_hash, default_path

from .engine_helpers import NULL_ENGINE, scan
from .helpers import outputs

# Schema 1, as scan2pdf 0.1.0 created it (scan2pdf/journal.py at b7fdd31).
SCHEMA_1 = """
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


def test_fingerprints_of_existing_option_sets_are_unchanged() -> None:
    """Computed by scan2pdf 0.1.0: outputs it journalled stay up to date."""
    assert Options().fingerprint() == "8930bef6e08824cd"
    spanish = Options(languages=("eng", "spa"), image_dpi=200, existing_text="redo")
    assert spanish.fingerprint() == "b9e8a1c3b8f1db52"


def write_schema_1(db_path: Path, rows: list[tuple[str, Path, str, Path]]) -> None:
    """A journal as 0.1.0 left it: (source as given, the file, fingerprint, output pdf)."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(db_path) as db:
        db.executescript(SCHEMA_1)
        for source, path, fingerprint, pdf in rows:
            st = path.stat()
            now = time.time()
            db.execute(
                "INSERT INTO files VALUES "
                "(?, ?, ?, ?, ?, ?, 'converted', NULL, NULL, 1, ?, ?, 1, 1, ?, ?)",
                (
                    source,
                    st.st_size,
                    st.st_mtime_ns,
                    st.st_ino,
                    content_hash(path),
                    fingerprint,
                    str(pdf),
                    str(pdf.with_suffix(".txt")),
                    now,
                    now,
                ),
            )
            db.execute(
                "INSERT INTO events (source, content, fingerprint, status, at) "
                "VALUES (?, ?, ?, 'converted', ?)",
                (source, content_hash(path), fingerprint, now),
            )


def test_a_schema_1_journal_is_migrated_and_stays_up_to_date(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    scan(src / "a.png", shade=1)
    scan(src / "sub" / "b.png", shade=2)
    convert([src], out, NULL_ENGINE)
    made = outputs(out)
    default_path(out).unlink()
    for extra in default_path(out).parent.glob("journal.sqlite-*"):
        extra.unlink()
    # 0.1.0 kept paths as given on the command line: here relative to tmp_path.
    monkeypatch.chdir(tmp_path)
    fp = NULL_ENGINE.fingerprint()
    write_schema_1(
        default_path(out),
        [
            ("in/a.png", src / "a.png", fp, Path("out/a.pdf")),
            ("in/sub/b.png", src / "sub" / "b.png", fp, Path("out/sub/b.pdf")),
        ],
    )
    before = {p: p.stat().st_mtime_ns for p in made}
    report = convert([Path("in")], Path("out"), NULL_ENGINE)
    assert (report.converted, report.skipped, report.failed) == (0, 2, 0)
    assert {p: p.stat().st_mtime_ns for p in made} == before
    with sqlite3.connect(default_path(out)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 4
    entries = Journal(default_path(out)).entries()
    assert [(e.identity, e.output) for e in entries] == [
        (str(src / "a.png"), str(out / "a.pdf")),
        (str(src / "sub" / "b.png"), str(out / "sub" / "b.pdf")),
    ]


def test_watch_claim_paths_become_where_files_were_dropped(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    scan(inbox / "done-long-ago.png")
    claim = f"{inbox}/.scan2pdf/claims/host-123/sub/x.png"
    write_schema_1(
        default_path(tmp_path / "out"),
        [(claim, inbox / "done-long-ago.png", "f", tmp_path / "out" / "x.pdf")],
    )
    (entry,) = Journal(default_path(tmp_path / "out")).entries()
    assert entry.identity == f"{inbox}/sub/x.png"
    shutil.rmtree(tmp_path / "out")
    assert not os.path.exists(tmp_path / "out")


def test_a_schema_2_journal_gains_the_quality_columns_and_stays_up_to_date(
    tmp_path: Path,
) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    scan(src / "a.png", shade=1)
    convert([src], out, NULL_ENGINE)
    with sqlite3.connect(default_path(out)) as db:  # as scan2pdf with schema 2 left it
        for column in ("quality", "made_by", "published", "pending"):
            db.execute(f"ALTER TABLE files DROP COLUMN {column}")
        db.execute("PRAGMA user_version = 2")
    report = convert([src], out, NULL_ENGINE)
    assert (report.converted, report.skipped) == (0, 1)
    with sqlite3.connect(default_path(out)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 4
        assert db.execute("SELECT quality, made_by FROM files").fetchall() == [(None, None)]


def test_a_schema_3_journal_binds_its_outputs_when_found_up_to_date(tmp_path: Path) -> None:
    """Outputs journalled before they were hashed stay up to date, and are bound to their
    bytes from then on: an edit afterwards is noticed and the input converted again."""
    src, out = tmp_path / "in", tmp_path / "out"
    scan(src / "a.png", shade=1)
    convert([src], out, NULL_ENGINE)
    with sqlite3.connect(default_path(out)) as db:  # as scan2pdf with schema 3 left it
        for column in ("published", "pending"):
            db.execute(f"ALTER TABLE files DROP COLUMN {column}")
        db.execute("PRAGMA user_version = 3")
    report = convert([src], out, NULL_ENGINE)
    assert (report.converted, report.skipped) == (0, 1)
    with sqlite3.connect(default_path(out)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 4
        (published,) = db.execute("SELECT published FROM files").fetchone()
    assert str(out / "a.pdf") in published and str(out / "a.txt") in published
    (out / "a.txt").write_text("edited by hand", encoding="utf-8")
    results: list[FileResult] = []
    again = convert([src], out, NULL_ENGINE, on_result=results.append)
    assert (again.converted, again.skipped) == (1, 0)
    (result,) = results
    assert any("changed since it was published" in note for note in result.notes)
    assert (out / "a.txt").read_text(encoding="utf-8") != "edited by hand"
