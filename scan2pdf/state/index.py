"""The search index of an output folder: one row per page, SQLite FTS5, kept by the coordinator.

``OUTDIR/.scan2pdf/index.sqlite``, apart from the journal (so either can be rebuilt alone),
in WAL mode: searches read while a run or a watch service writes, and never block it;
every document's pages change in one transaction, so a kill -9 leaves each document
either indexed whole or not at all.

- ``docs``: one row per output PDF: its path, sidecar, the input's identity, its folder
  relative to OUTDIR (for ``--under``), when it was converted, its page count.
- ``pages``: FTS5 over the page texts, ``unicode61 remove_diacritics 2`` (case and accents
  folded: ``credito`` finds ``crédito``). A page's rowid is ``doc id << 20 | page``, so a
  document's pages are one rowid range.
- Scripts written without spaces (Chinese, Japanese, Korean, Thai...) are indexed one
  character a token (``text_for_index``); a query's run of such characters becomes a
  phrase of them (``core/search.py``), which finds it as a substring, whatever spacing
  Tesseract put between the characters.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from scan2pdf.errors import DiskFullError, LocationError, MissingDependencyError
from scan2pdf.state.journal import Journal
from scan2pdf.state.sqlite import problem

SCHEMA_VERSION = 1
_PAGE_BITS = 20  # up to a million pages per document
_BUSY_TIMEOUT = 5.0
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS docs (id INTEGER PRIMARY KEY, pdf TEXT NOT NULL UNIQUE, "
    "sidecar TEXT NOT NULL, identity TEXT NOT NULL, folder TEXT NOT NULL, "
    "converted REAL NOT NULL, page_count INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS docs_by_folder ON docs (folder)",
    "CREATE VIRTUAL TABLE IF NOT EXISTS pages USING fts5(text, "
    "tokenize = 'unicode61 remove_diacritics 2')",
)
# Characters of scripts that do not separate words with spaces: Han, Hiragana, Katakana,
# Hangul, Thai, Lao, Khmer, Myanmar, and CJK punctuation and full-width forms.
_UNSPACED = (
    "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3000-\u30ff\u3100-\u312f\u3400-\u4dbf"
    "\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef"
)
UNSPACED_RUN = re.compile(f"[{_UNSPACED}]+")
_GAP_BETWEEN_UNSPACED = re.compile(f"(?<=[{_UNSPACED}])\\s+(?=[{_UNSPACED}])")
# The same in a snippet, where match markers (\x02, \x03) may stand beside the gap.
_MARKED_GAP = re.compile(f"([{_UNSPACED}][\\x02\\x03]*)\\s+(?=[\\x02\\x03]*[{_UNSPACED}])")


def default_path(outdir: Path) -> Path:
    return outdir / ".scan2pdf" / "index.sqlite"


def check_fts5() -> None:
    """Raise MissingDependencyError when this Python's SQLite has no FTS5 (exit 3)."""
    try:
        sqlite3.connect(":memory:").execute("CREATE VIRTUAL TABLE probe USING fts5(x)")
    except sqlite3.Error as exc:
        raise MissingDependencyError(
            f"This Python's SQLite ({sqlite3.sqlite_version}) has no full-text search (FTS5).",
            "Use a Python whose SQLite has FTS5 (Debian's and python.org's do), or convert "
            "with --no-index.",
        ) from exc


def text_for_index(text: str) -> str:
    """NFC, spaces Tesseract put inside unspaced scripts removed, then one char a token."""
    text = _GAP_BETWEEN_UNSPACED.sub("", unicodedata.normalize("NFC", text))
    return UNSPACED_RUN.sub(lambda m: " ".join(m.group()), text)


def text_for_reading(snippet: str) -> str:
    """Undo ``text_for_index``'s spacing in a snippet (match markers kept)."""
    return _MARKED_GAP.sub(r"\1", snippet)


@dataclass(frozen=True, slots=True)
class Document:
    id: int
    pdf: str
    sidecar: str
    identity: str
    folder: str
    converted: float
    pages: int


@dataclass(frozen=True, slots=True)
class Row:
    """One hit as the index returns it (``core/search.py`` makes a ``Hit`` of it)."""

    document: Document
    page: int  # 1-based
    score: float  # higher is better (negated BM25)
    snippet: str  # with \x02 and \x03 around each match


class Index:
    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.path = path
        if not create and not path.exists():
            raise LocationError(
                f"There is no search index at '{path}'.",
                "Convert into this folder first, or run scan2pdf index OUTDIR --rebuild.",
            )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None, timeout=_BUSY_TIMEOUT)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            found = int(self._db.execute("PRAGMA user_version").fetchone()[0])
            if found > SCHEMA_VERSION:
                raise LocationError(
                    f"The search index '{path}' was written by a newer scan2pdf.",
                    "Upgrade scan2pdf, or run scan2pdf index OUTDIR --rebuild.",
                )
            tables = {
                name for (name,) in self._db.execute("SELECT name FROM sqlite_master")
            }
            if found == SCHEMA_VERSION and not {"docs", "pages"} <= tables:
                # Made once (its version is set), now without its tables: creating them
                # afresh would answer every search with nothing and never say why.
                raise DamagedIndexError(
                    f"The search index '{path}' is damaged (its tables are missing).",
                    "Run scan2pdf index OUTDIR --rebuild.",
                )
            if create:
                for statement in _SCHEMA:
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except OSError as exc:
            raise LocationError(f"Cannot use the search index '{path}' ({exc}).") from exc
        except sqlite3.Error as exc:
            raise self._problem(exc) from exc
        except DamagedIndexError:
            self._db.close()
            raise

    def close(self) -> None:
        self._db.close()

    def single_file(self) -> None:
        """Leave write-ahead logging: the index is one file, to be moved whole."""
        self._db.execute("PRAGMA journal_mode=DELETE")

    # ---- writing ---------------------------------------------------------------------

    def add(self, pdf: Path, sidecar: Path, identity: str, folder: str, text: str) -> None:
        """Index a document's sidecar text (pages separated by form feeds), replacing it."""
        pages = text.split("\f")
        with self._transaction():
            self._remove(str(pdf))
            cursor = self._db.execute(
                "INSERT INTO docs (pdf, sidecar, identity, folder, converted, page_count) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (str(pdf), str(sidecar), identity, folder, time.time(), len(pages)),
            )
            doc = cursor.lastrowid
            assert doc is not None
            self._db.executemany(
                "INSERT INTO pages (rowid, text) VALUES (?, ?)",
                (
                    ((doc << _PAGE_BITS) | number, text_for_index(page))
                    for number, page in enumerate(pages, 1)
                    if page.strip()
                ),
            )

    def move(self, old_pdf: Path, pdf: Path, sidecar: Path, identity: str, folder: str) -> None:
        """The outputs moved to another name (a renamed input): its pages stay indexed."""
        with self._transaction():
            self._remove(str(pdf))
            self._db.execute(
                "UPDATE docs SET pdf = ?, sidecar = ?, identity = ?, folder = ? WHERE pdf = ?",
                (str(pdf), str(sidecar), identity, folder, str(old_pdf)),
            )

    def remove(self, pdf: Path) -> None:
        with self._transaction():
            self._remove(str(pdf))

    def _remove(self, pdf: str) -> None:
        row = self._db.execute("SELECT id FROM docs WHERE pdf = ?", (pdf,)).fetchone()
        if row is None:
            return
        low = row[0] << _PAGE_BITS
        self._db.execute(
            "DELETE FROM pages WHERE rowid BETWEEN ? AND ?", (low, low | ((1 << _PAGE_BITS) - 1))
        )
        self._db.execute("DELETE FROM docs WHERE id = ?", (row[0],))

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One document's change, all or nothing (a kill -9 leaves it as it was)."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._problem(exc) from exc
        try:
            yield
        except BaseException as exc:
            with suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise self._problem(exc) from exc
            raise
        try:
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise self._problem(exc) from exc

    # ---- reading ---------------------------------------------------------------------

    def documents(self) -> Iterator[Document]:
        for row in self._db.execute(f"SELECT {_DOC_COLUMNS} FROM docs ORDER BY id"):
            yield Document(*row)

    def count(self) -> tuple[int, int]:
        """(documents, pages with text)."""
        docs = self._db.execute("SELECT COUNT(*) FROM docs").fetchone()[0]
        pages = self._db.execute("SELECT COUNT(*) FROM pages").fetchone()[0]
        return int(docs), int(pages)

    def query(
        self,
        match: str,
        limit: int,
        under: str | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> list[Row]:
        """Pages matching the FTS5 expression ``match``, best first.

        Raises ``sqlite3.OperationalError`` for a query FTS5 cannot parse.
        """
        where, args = ["pages MATCH ?"], [match]
        if under:
            where.append("(docs.folder = ? OR docs.folder LIKE ? ESCAPE '\\')")
            args += [under, _like_prefix(under) + "/%"]
        if since is not None:
            where.append("docs.converted >= ?")
            args.append(str(since))
        if until is not None:
            where.append("docs.converted < ?")
            args.append(str(until))
        # One statement: SQLite computes the snippets only for the rows the LIMIT keeps
        # (measured: separate lookups per hit were slower).
        sql = (
            f"SELECT {_DOC_COLUMNS.replace('id,', 'docs.id,')}, pages.rowid, pages.rank, "
            "snippet(pages, 0, char(2), char(3), '…', 16) FROM pages "
            f"JOIN docs ON docs.id = (pages.rowid >> {_PAGE_BITS}) "
            f"WHERE {' AND '.join(where)} ORDER BY pages.rank LIMIT ?"
        )
        rows = self._db.execute(sql, [*args, str(limit)]).fetchall()
        mask = (1 << _PAGE_BITS) - 1
        return [
            Row(Document(*row[:7]), row[7] & mask, -float(row[8]), text_for_reading(row[9]))
            for row in rows
        ]

    def _problem(self, exc: sqlite3.Error) -> Exception:
        kind = problem(exc)
        if kind == "full":
            return DiskFullError(f"No space left on the device for the search index ({exc}).")
        if kind == "locked":
            return LocationError(
                f"The search index '{self.path}' is locked by another program.",
                "Wait for it to finish, or run again.",
            )
        if kind == "damaged":
            return DamagedIndexError(
                f"The search index '{self.path}' is damaged ({exc}).",
                "Run scan2pdf index OUTDIR --rebuild.",
            )
        return LocationError(f"Cannot use the search index '{self.path}' ({exc}).")


class DamagedIndexError(LocationError):
    """The index file is damaged; it can be rebuilt from the journal and the sidecars."""


_DOC_COLUMNS = "id, pdf, sidecar, identity, folder, converted, page_count"


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def read_sidecar(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def folder_of(pdf: Path, outdir: Path) -> str:
    """The document's folder relative to OUTDIR ("" at the top), for ``--under``."""
    try:
        rel = pdf.parent.relative_to(outdir)
    except ValueError:
        return ""
    return "" if str(rel) == "." else rel.as_posix()


@dataclass
class Opened:
    """An index brought in step with the journal: what changed, and a notice, if any."""

    index: Index
    notice: str | None
    added: int
    removed: int


def open_for_run(outdir: Path, journal: Journal, rebuild: bool = False) -> Opened:
    """The index a run keeps current, in step with the journal (built anew with ``rebuild``).

    A damaged index is rebuilt from the journal and the sidecars (the notice says so);
    documents whose outputs are gone (removed by hand) or that the journal no longer
    counts as converted drop out; converted ones missing from it are added.
    """
    path = default_path(outdir)
    notice = None
    if not rebuild:
        try:
            index = Index(path)
        except DamagedIndexError as exc:
            rebuild = True
            notice = f"{exc.detail} It was rebuilt from the journal and the sidecars."
    if rebuild:
        added = _built_aside(path, journal, outdir)
        return Opened(Index(path), notice, added, 0)
    added, removed = sync(index, journal, outdir)
    return Opened(index, notice, added, removed)


def _built_aside(path: Path, journal: Journal, outdir: Path) -> int:
    """Build the index anew beside ``path`` and swap it in whole; how many documents it
    holds. Killed while it builds, the old index (or none) stays as it was, never a part
    of the new one: searches would answer from it without a word (119 documents of 401,
    seen in issue 35)."""
    aside = path.with_name(f"{path.name}.new")
    _delete(aside)
    new = Index(aside)
    try:
        added, _ = sync(new, journal, outdir)
        new.single_file()
    finally:
        new.close()
    for name in (f"{path.name}-wal", f"{path.name}-shm"):
        path.with_name(name).unlink(missing_ok=True)  # the old file's, not the new one's
    os.replace(aside, path)
    return added


def _delete(path: Path) -> None:
    """The index file and SQLite's WAL files beside it."""
    for name in (path.name, f"{path.name}-wal", f"{path.name}-shm"):
        path.with_name(name).unlink(missing_ok=True)


def sync(index: Index, journal: Journal, outdir: Path) -> tuple[int, int]:
    """Make the index hold exactly the journal's converted documents; (added, removed)."""
    wanted = {pdf: (sidecar, identity) for identity, pdf, sidecar in journal.outputs()}
    removed = added = 0
    indexed = set()
    for doc in list(index.documents()):
        if doc.pdf not in wanted or not os.path.exists(doc.pdf):
            index.remove(Path(doc.pdf))
            removed += 1
        else:
            indexed.add(doc.pdf)
    for pdf, (sidecar, identity) in wanted.items():
        if pdf in indexed or not os.path.exists(pdf):
            continue
        text = read_sidecar(Path(sidecar))
        if text is not None:
            index.add(Path(pdf), Path(sidecar), identity, folder_of(Path(pdf), outdir), text)
            added += 1
    return added, removed
