"""``scan2pdf search`` and ``scan2pdf index``: finding things in a converted archive.

Hits go to stdout (``path:page: snippet``, grep-like; ``--json`` for programs), so they can
be piped; exit codes follow grep: 0 hits, 1 none, 2 a bad query.
"""

from __future__ import annotations

import json
import sys
import time
from contextlib import closing
from datetime import datetime
from pathlib import Path

import click
from rich.console import Console
from rich.text import Text

from scan2pdf.cli import examples
from scan2pdf.cli.display import shown
from scan2pdf.cli.handler import run_plain
from scan2pdf.core.search import Hit, search
from scan2pdf.errors import ExitCode, UsageError
from scan2pdf.state.index import check_fts5, open_for_run
from scan2pdf.state.journal import Journal
from scan2pdf.state.journal import default_path as journal_path

DATE = click.DateTime(
    ["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
)
# SQLite's LIMIT is a signed 64-bit integer: more is Python's OverflowError, not a search.
_MOST = 2**63 - 1


@click.command(name="search", epilog=examples.SEARCH)
@click.argument("outdir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("query")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per hit (JSON Lines).")
@click.option("--limit", type=click.IntRange(1, _MOST), default=20, show_default=True)
@click.option("--under", metavar="FOLDER", help="Only documents in this folder of OUTDIR.")
@click.option("--since", type=DATE, help="Only documents converted at or after this date.")
@click.option("--until", type=DATE, help="Only documents converted before this date.")
def search_command(
    outdir: Path,
    query: str,
    as_json: bool,
    limit: int,
    under: str | None,
    since: datetime | None,
    until: datetime | None,
) -> None:
    """Find QUERY in the documents converted into OUTDIR: each hit as PATH:PAGE: snippet.

    QUERY: words (all on one page), "exact phrases", prefixes (invo*), AND, OR, NOT and
    parentheses; case and accents do not matter; Chinese, Japanese and Korean text is
    found as written. Exit code 0 with hits, 1 with none, 2 for a query that does not parse.

    Example: scan2pdf search out/ '"harbour master" AND invo*' --under letters
    """
    found: list[Hit] = []

    def find() -> None:
        found.extend(
            search(
                outdir,
                query,
                limit=limit,
                under=under,
                since=since,
                until=until,
                on_notice=lambda notice: click.echo(f"Warning: {notice}", err=True),
            )
        )

    run_plain(find)
    if as_json:
        for hit in found:
            click.echo(json.dumps(hit.to_json(), ensure_ascii=False))
    else:
        console = Console(highlight=False, soft_wrap=True)
        for hit in found:
            console.print(_line(hit, console.is_terminal))
    sys.exit(int(ExitCode.OK if found else ExitCode.FAILURES))


def _line(hit: Hit, terminal: bool) -> Text:
    line = Text(f"{shown(hit.file)}:{hit.page}: ", style="magenta" if terminal else "")
    position = 0
    for start, end in hit.marks:
        line.append(hit.snippet[position:start])
        line.append(hit.snippet[start:end], style="bold red" if terminal else "")
        position = end
    line.append(hit.snippet[position:])
    return line


@click.command(name="index", epilog=examples.INDEX)
@click.argument("outdir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--rebuild", is_flag=True, help="Build the index anew from the journal and the sidecars."
)
def index_command(outdir: Path, rebuild: bool) -> None:
    """Bring OUTDIR's search index in step with its journal and outputs (convert, retry and
    watch keep it current; this is for outputs removed by hand, or a damaged index).

    Example: scan2pdf index out/ --rebuild
    """

    def work() -> None:
        check_fts5()
        out = Path(outdir).absolute()
        opened = Journal.open_existing(journal_path(out))
        if opened is None:
            raise UsageError(f"There is no journal in '{outdir}'.", "Run scan2pdf convert first.")
        started = time.monotonic()
        with closing(opened) as journal:
            result = open_for_run(out, journal, rebuild=rebuild)
            with closing(result.index) as index:
                documents, pages = index.count()
        if result.notice:
            click.echo(f"warning: {result.notice}", err=True)
        click.echo(
            f"{documents} documents, {pages} pages with text ({result.added} added, "
            f"{result.removed} removed; {time.monotonic() - started:.1f} s)"
        )

    run_plain(work)
