"""``scan2pdf search``: where does the converted archive say X? A file and a page, ranked.

Queries use FTS5's syntax: words (all must occur on the page), ``"exact phrases"``,
prefixes (``invo*``), ``AND``/``OR``/``NOT`` and parentheses. Case and accents do not
matter (``credito`` finds ``crédito``). A run of Chinese, Japanese or Korean characters is
found as a substring (``档案馆`` finds it inside ``本馆档案馆通知``). Hits are ranked by BM25.
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from scan2pdf.errors import ExitCode, Scan2PdfError
from scan2pdf.state.index import (
    UNSPACED_RUN,
    DamagedIndexError,
    Index,
    Row,
    default_path,
    open_for_run,
)
from scan2pdf.state.journal import Journal
from scan2pdf.state.journal import default_path as journal_path

# What SQLite says about a query FTS5 cannot parse (as opposed to a fault of ours).
_QUERY_FAULTS = re.compile(r"fts5|syntax error|no such column|unterminated|unknown special query")


class QueryError(Scan2PdfError):
    """A query FTS5 cannot parse; exit code 2, like grep's."""

    reason = "bad_query"
    exit_code = ExitCode.USAGE
    remedy = (
        'Quote words that hold punctuation ("e-mail"), close every quote and parenthesis, '
        "and write AND, OR and NOT in capitals between words."
    )


@dataclass(frozen=True, slots=True)
class Hit:
    """One page that matches. ``marks`` are (start, end) offsets of matches in ``snippet``."""

    file: Path
    page: int
    score: float
    snippet: str
    marks: tuple[tuple[int, int], ...]
    input: str
    sidecar: Path

    def to_json(self) -> dict[str, object]:
        return {
            "file": str(self.file),
            "page": self.page,
            "score": round(self.score, 4),
            "snippet": self.snippet,
            "marks": [list(m) for m in self.marks],
            "input": self.input,
            "sidecar": str(self.sidecar),
        }


def search(
    outdir: Path | str,
    query: str,
    *,
    limit: int = 20,
    under: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    on_notice: Callable[[str], None] | None = None,
) -> list[Hit]:
    """The pages of ``outdir``'s converted documents that match ``query``, best first.

    ``under``: only documents in this folder of OUTDIR (and below it); ``since``/``until``:
    only documents converted in that time. Raises QueryError for a query that does not
    parse, LocationError when OUTDIR has no index. A damaged index (a file SQLite cannot
    read, its tables gone) is rebuilt from the journal and the sidecars first, and
    ``on_notice`` hears that it was.
    """
    out = Path(os.path.abspath(outdir))
    try:
        index = Index(default_path(out), create=False)
    except DamagedIndexError:
        opened = open_for_run(out, Journal.snapshot(journal_path(out)))
        if on_notice is not None and opened.notice is not None:
            on_notice(opened.notice)
        index = opened.index
    try:
        rows = index.query(
            fts_query(query),
            limit,
            under=(under or "").strip("/") or None,
            since=since.timestamp() if since else None,
            until=until.timestamp() if until else None,
        )
    except sqlite3.OperationalError as exc:
        if not _QUERY_FAULTS.search(str(exc)):
            raise
        raise QueryError(f"The query {query!r} cannot be read ({exc}).") from exc
    finally:
        index.close()
    return [_hit(row) for row in rows]


async def asearch(
    outdir: Path | str,
    query: str,
    *,
    limit: int = 20,
    under: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    on_notice: Callable[[str], None] | None = None,
) -> list[Hit]:
    """``search`` for asyncio programs (in a thread: the event loop stays free;
    ``on_notice`` is called on that thread)."""
    return await asyncio.to_thread(
        search,
        outdir,
        query,
        limit=limit,
        under=under,
        since=since,
        until=until,
        on_notice=on_notice,
    )


def fts_query(query: str) -> str:
    """The user's query as an FTS5 expression: NFC, runs of unspaced scripts as phrases."""
    query = unicodedata.normalize("NFC", query.strip())
    if not query:
        raise QueryError("The query is empty.")
    out: list[str] = []
    quoted = False
    position = 0
    for match in UNSPACED_RUN.finditer(query):
        before = query[position : match.start()]
        quoted ^= before.count('"') % 2 == 1
        spaced = " ".join(match.group())
        out += [before, spaced if quoted else f'"{spaced}"']
        position = match.end()
    out.append(query[position:])
    return "".join(out)


def _hit(row: Row) -> Hit:
    snippet: list[str] = []
    marks: list[tuple[int, int]] = []
    start = 0
    for char in row.snippet:
        if char == "\x02":
            start = len(snippet)
        elif char == "\x03":
            if marks and marks[-1][1] == start:  # adjacent matches (a CJK phrase): one mark
                start = marks.pop()[0]
            marks.append((start, len(snippet)))
        else:
            snippet.append(char)
    # Line breaks read as spaces in one line of output; offsets stay as they are.
    text = "".join(snippet).translate({ord("\n"): " ", ord("\r"): " ", ord("\t"): " "})
    return Hit(
        Path(row.document.pdf),
        row.page,
        row.score,
        text,
        tuple(marks),
        row.document.identity,
        Path(row.document.sidecar),
    )
