"""The command line: parse, build Options, call the library, map the Report to an exit code.

This is the only module that imports Click. No traceback reaches the user for anything
they caused: Scan2PdfErrors become a message and an exit code.
"""

from __future__ import annotations

import signal
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn, TypeVar

import click

from scan2pdf import __version__
from scan2pdf.batch import convert, retry
from scan2pdf.errors import ExitCode, Scan2PdfError, UsageError
from scan2pdf.journal import Journal, default_path
from scan2pdf.options import EXISTING_TEXT_MODES, OUTPUT_TYPES, PDF_RENDERERS, Options
from scan2pdf.progress import Display
from scan2pdf.report import FileResult, Report
from scan2pdf.tools import PROGRAMS, installed_languages, program_version
from scan2pdf.watch import Watcher, WatchSettings

F = TypeVar("F", bound=Callable[..., Any])


def _apply(func: F, decorators: list[Callable[[F], F]]) -> F:
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def run_options(func: F) -> F:
    """How a run goes and what it tells: shared by convert, retry and watch."""
    return _apply(
        func,
        [
            click.option(
                "-j",
                "--jobs",
                type=click.IntRange(min=1),
                default=None,
                help="Total CPU budget (busy threads). Default: the cores this process may use.",
            ),
            click.option(
                "--report",
                type=click.Path(dir_okay=False, path_type=Path),
                help="Write a JSON Lines report, one object per input.",
            ),
            click.option(
                "--journal",
                type=click.Path(dir_okay=False, path_type=Path),
                help="The run's journal (SQLite). Default: OUTDIR/.scan2pdf/journal.sqlite.",
            ),
            click.option(
                "--failed",
                type=click.Path(file_okay=False, path_type=Path),
                help="Copy each failed input here, mirrored, with NAME.error.json beside it.",
            ),
            click.option("-q", "--quiet", is_flag=True, help="Print failures only."),
            click.option("-v", "--verbose", count=True, help="Print details of each file."),
        ],
    )


def conversion_options(func: F) -> F:
    """What the output looks like: shared by convert and watch (DESIGN.md, CLI contract)."""
    return _apply(
        func,
        [
            click.option(
                "-o",
                "--output",
                required=True,
                type=click.Path(file_okay=False, path_type=Path),
                help="Output folder; the input tree is mirrored inside it.",
            ),
            click.option(
                "-l",
                "--language",
                default="eng",
                show_default=True,
                metavar="LANGS",
                help="Tesseract languages joined with '+', e.g. eng+spa+chi_sim.",
            ),
            click.option(
                "--output-type",
                type=click.Choice(OUTPUT_TYPES),
                default="auto",
                show_default=True,
                help="auto: PDF/A when possible without Ghostscript, else a plain PDF.",
            ),
            click.option(
                "--existing-text",
                type=click.Choice(EXISTING_TEXT_MODES),
                default="skip",
                show_default=True,
                help="Pages that already have text: skip them (keep their text), redo "
                "OCR under it, or force OCR of the rasterised page.",
            ),
            click.option(
                "--image-dpi",
                type=click.IntRange(10, 4800),
                default=300,
                show_default=True,
                help="DPI assumed for images without a credible one.",
            ),
            click.option("--rotate-pages", is_flag=True, help="Fix page orientation (needs osd)."),
            click.option("--deskew", is_flag=True, help="Straighten skewed pages."),
            click.option("--clean", is_flag=True, help="Clean pages with unpaper before OCR."),
            click.option(
                "--optimize",
                type=click.IntRange(0, 3),
                default=1,
                show_default=True,
                help="OCRmyPDF's output optimisation level (2 and 3 need pngquant).",
            ),
            click.option(
                "--pdf-renderer",
                type=click.Choice(PDF_RENDERERS),
                default="auto",
                show_default=True,
                help="How the text layer is drawn: sandwich (Tesseract's own, fastest) or "
                "fpdf2 (OCRmyPDF's); auto uses fpdf2 only for right-to-left languages.",
            ),
            click.option(
                "--max-image-mpixels",
                type=click.FloatRange(min=0, min_open=True),
                default=250.0,
                show_default=True,
                help="Refuse images larger than this (reason too_large) instead of risking memory.",
            ),
            click.option(
                "--invalidate-signatures",
                is_flag=True,
                help="Convert digitally signed PDFs too; their signatures will no longer validate.",
            ),
            click.option(
                "--timeout",
                type=click.FloatRange(min=0, min_open=True),
                default=3600.0,
                show_default=True,
                help="Seconds one file may take before it is stopped and failed.",
            ),
            click.option(
                "--force", is_flag=True, help="Convert again even when the outputs are up to date."
            ),
        ],
    )


# Every option can also come from the environment: SCAN2PDF_<COMMAND>_<OPTION>, e.g.
# SCAN2PDF_WATCH_LANGUAGE=eng+spa or SCAN2PDF_WATCH_POLL=10 (handy under systemd or Docker).
@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "SCAN2PDF"}
)
@click.version_option(__version__, prog_name="scan2pdf")
def cli() -> None:
    """Turn scanned documents into searchable PDFs plus sidecar text."""


@cli.command(name="convert")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@conversion_options
@run_options
def convert_command(
    inputs: tuple[Path, ...],
    output: Path,
    jobs: int | None,
    report: Path | None,
    journal: Path | None,
    failed: Path | None,
    quiet: bool,
    verbose: int,
    **settings: Any,
) -> None:
    """Convert INPUT files and folder trees into OUTDIR."""
    options = _build_options({**settings, "jobs": jobs})
    _run_batch(
        lambda totals, on_result: convert(
            inputs,
            output,
            options,
            report=totals,
            report_path=report,
            on_result=on_result,
            journal_path=journal,
            failed_dir=failed,
        ),
        quiet,
        verbose,
    )


@cli.command(name="watch")
@click.argument("inbox", type=click.Path(exists=True, file_okay=False, path_type=Path))
@conversion_options
@run_options
@click.option(
    "--done",
    type=click.Path(file_okay=False, path_type=Path),
    help="Move originals here after success, mirrored. Default: INBOX/.scan2pdf/done.",
)
@click.option(
    "--delete-originals",
    is_flag=True,
    help="Delete originals once their outputs are published, instead of moving them.",
)
@click.option(
    "--poll",
    type=click.FloatRange(min=0.1),
    default=None,
    help="Find files by scanning every N seconds only (network shares, where file "
    "events are not delivered).",
)
@click.option(
    "--rescan",
    type=click.FloatRange(min=1),
    default=60.0,
    show_default=True,
    help="Seconds between full scans besides file events.",
)
@click.option(
    "--settle",
    type=click.FloatRange(min=0),
    default=5.0,
    show_default=True,
    help="Seconds a file's size and mtime must stay unchanged before it is taken.",
)
@click.option(
    "--give-up",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    help="Seconds a still file that does not parse (damaged) waits before it is taken "
    "anyway, to fail with its reason.",
)
def watch_command(
    inbox: Path,
    output: Path,
    jobs: int | None,
    report: Path | None,
    journal: Path | None,
    failed: Path | None,
    quiet: bool,
    verbose: int,
    done: Path | None,
    delete_originals: bool,
    poll: float | None,
    rescan: float,
    settle: float,
    give_up: float,
    **settings: Any,
) -> None:
    """Convert files dropped into INBOX, for as long as it runs (stop: SIGTERM or Ctrl-C).

    Originals leave the inbox only once their outputs are published: to --done
    (default INBOX/.scan2pdf/done) or, with --delete-originals, nowhere. Failures go to
    --failed (default INBOX/.scan2pdf/failed) with NAME.error.json beside them. Every
    option can also be set as SCAN2PDF_WATCH_<OPTION>, e.g. SCAN2PDF_WATCH_OUTPUT.
    """
    options = _build_options({**settings, "jobs": jobs})
    target = WatchSettings(
        inbox, output, done, failed, delete_originals, poll, rescan, settle, give_up, journal
    )

    def started(description: str) -> None:
        if not quiet:
            click.echo(f"scan2pdf {__version__}: {description}", err=True)

    def serve(totals: Report, on_result: Callable[[FileResult], None]) -> object:
        return Watcher(target, options, on_result, report, totals, started).run()

    _run_batch(serve, quiet, verbose)


@cli.command(name="retry")
@click.argument("outdir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--reason", help="Only inputs that failed for this reason (e.g. timeout).")
@run_options
def retry_command(
    outdir: Path,
    reason: str | None,
    jobs: int | None,
    report: Path | None,
    journal: Path | None,
    failed: Path | None,
    quiet: bool,
    verbose: int,
) -> None:
    """Convert again the inputs OUTDIR's journal lists as failed, with their options."""
    _run_batch(
        lambda totals, on_result: retry(
            outdir,
            reason=reason,
            jobs=jobs,
            report=totals,
            report_path=report,
            on_result=on_result,
            journal_path=journal,
            failed_dir=failed,
        ),
        quiet,
        verbose,
    )


def _run_batch(
    work: Callable[[Report, Callable[[FileResult], None]], object], quiet: bool, verbose: int
) -> NoReturn:
    """Run a batch with progress on stderr; exit with the code its report (or error) says."""
    report = Report()
    with _interrupt_on_signals(), Display(-1 if quiet else verbose) as display:
        try:
            work(report, display.file_done)
        except KeyboardInterrupt:
            pass  # report.interrupted is set; the summary below says so
        except Scan2PdfError as exc:
            if report.total:  # files were processed before it stopped (disk full, say)
                display.summary(report)
            _fail(exc)
    display.summary(report)
    sys.exit(int(report.exit_code()))


@cli.command()
@click.argument("outdir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--journal",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The journal to read. Default: OUTDIR/.scan2pdf/journal.sqlite.",
)
def status(outdir: Path, journal: Path | None) -> None:
    """Summarise OUTDIR's journal: converted, failed by reason, pending."""
    path = journal or default_path(outdir)
    opened = Journal.open_existing(path)
    if opened is None:
        _fail(UsageError(f"There is no journal at '{path}'.", "Run scan2pdf convert first."))
    with closing(opened):
        statuses, reasons = opened.summary()
    for label, count in summary_lines(statuses, reasons):
        click.echo(f"{label:<10} {count}")


def summary_lines(statuses: Counter[str], reasons: Counter[str]) -> list[tuple[str, str]]:
    """``status``'s table: done, failed (by reason), pending; the rest as they are."""
    failed = statuses.get("failed", 0)
    detail = ", ".join(f"{reason} {count}" for reason, count in sorted(reasons.items()))
    lines = [
        ("converted", str(statuses.get("converted", 0) + statuses.get("reused", 0))),
        ("failed", f"{failed}" + (f" ({detail})" if detail else "")),
        ("pending", str(statuses.get("running", 0))),
    ]
    if statuses.get("moved"):
        lines.append(("moved", str(statuses["moved"])))
    return lines


@cli.command()
def doctor() -> None:
    """Show the programs and language packs scan2pdf uses; exit 3 if one is missing."""
    missing = False
    for program in PROGRAMS:
        version = program_version(program.name)
        state = version or ("MISSING" if program.required else "not installed")
        click.echo(f"{program.name:<10} {state:<14} {program.purpose}")
        missing |= program.required and version is None
    languages = installed_languages()
    click.echo(f"{'languages':<10} {' '.join(languages) or 'NONE'}")
    if not languages or "eng" not in languages:
        missing = True
    if missing:
        click.echo("Something required is missing; see the README's set-up command.", err=True)
        sys.exit(int(ExitCode.MISSING_DEPENDENCY))


def _build_options(settings: dict[str, Any]) -> Options:
    try:
        return Options(
            languages=Options.parse_languages(settings.pop("language")),
            **settings,
        )
    except UsageError as exc:
        _fail(exc)


def _fail(exc: Scan2PdfError) -> NoReturn:
    click.echo(f"Error: {exc.message}", err=True)
    sys.exit(int(exc.exit_code))


@contextmanager
def _interrupt_on_signals() -> Iterator[None]:
    """SIGINT (Ctrl-C) and SIGTERM (systemd, kill) both stop the run cleanly.

    Installed explicitly because a process started in the background by a
    non-interactive shell inherits SIGINT as ignored, and Python keeps it that way.
    """

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def main() -> None:
    cli()
