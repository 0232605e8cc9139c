"""``scan2pdf status``: what a journal says of OUTDIR, and with ``--review`` what to check."""

from __future__ import annotations

from collections import Counter
from contextlib import closing
from pathlib import Path

import click

from scan2pdf.cli import examples
from scan2pdf.cli.handler import run_plain
from scan2pdf.core.quality import LOW_CONFIDENCE, Quality
from scan2pdf.errors import UsageError
from scan2pdf.state.journal import Entry, Journal, default_path
from scan2pdf.state.writer import has_writer


@click.command("status", epilog=examples.STATUS)
@click.argument("outdir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--journal",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The journal to read. Default: OUTDIR/.scan2pdf/journal.sqlite.",
)
@click.option(
    "--review",
    is_flag=True,
    help=f"List the converted files to check by eye: PDFs that had to be repaired (cut "
    f"short: pages missing), then pages with OCR confidence under {LOW_CONFIDENCE:g} or no "
    "text found, worst first.",
)
def status_command(outdir: Path, journal: Path | None, review: bool) -> None:
    """Summarise OUTDIR's journal: converted, failed by reason, pending."""

    def show() -> None:
        path = journal or default_path(outdir)
        if not path.exists():
            raise UsageError(f"There is no journal at '{path}'.", "Run scan2pdf convert first.")
        # A copy read without writing (no -wal or -shm made): works on a full disk and a
        # read-only mount, and never waits for a run's write.
        opened = Journal.snapshot(path)
        with closing(opened):
            if review:
                for line in review_lines(opened.rated()):
                    click.echo(line)
                return
            statuses, reasons = opened.summary()
        for label, count in summary_lines(statuses, reasons, has_writer(outdir)):
            click.echo(f"{label:<10} {count}")

    run_plain(show)


def review_lines(entries: list[Entry]) -> list[str]:
    """``status --review``: one line per file to check, repaired PDFs first (pages may be
    missing, which no confidence shows), then the least confident.

    Each line: the file's mean confidence (or "-" when no page has text), its output, what
    preflight repaired, and the pages to look at with their confidence.
    """
    rated = [(e, Quality.loads(e.quality)) for e in entries if e.quality]
    to_check = [(e, q) for e, q in rated if q.needs_review()]
    to_check.sort(
        key=lambda pair: (
            pair[1].repair is None,
            pair[1].confidence is not None,
            pair[1].confidence or 0.0,
        )
    )
    lines = []
    for entry, quality in to_check:
        parts = [quality.repair] if quality.repair else []
        parts += [f"page {n} ({quality.pages[n]:.0f})" for n in quality.low_confidence_pages]
        parts += [f"page {n} (no text)" for n in quality.blank_pages]
        shown = "-" if quality.confidence is None else f"{quality.confidence:.1f}"
        lines.append(f"{shown:>5}  {entry.output or entry.identity}: {', '.join(parts)}")
    if not lines:
        lines.append(f"Nothing to review: every page of {len(rated)} files read clearly.")
    return lines


def summary_lines(
    statuses: Counter[str], reasons: Counter[str], writing: bool = False
) -> list[tuple[str, str]]:
    """``status``'s table: done, failed (by reason), pending; the rest as they are.

    Rows still ``running`` are pending only while a run holds OUTDIR (``state/writer.py``);
    with none, they were interrupted (kill -9, a power cut) and the next run redoes them.
    """
    failed = statuses.get("failed", 0)
    detail = ", ".join(f"{reason} {count}" for reason, count in sorted(reasons.items()))
    running = statuses.get("running", 0)
    lines = [
        ("converted", str(statuses.get("converted", 0) + statuses.get("reused", 0))),
        ("failed", f"{failed}" + (f" ({detail})" if detail else "")),
        ("pending", str(running if writing else 0)),
    ]
    if running and not writing:
        lines.append(("interrupted", f"{running} (the next run converts them)"))
    if statuses.get("moved"):
        lines.append(("moved", str(statuses["moved"])))
    return lines
