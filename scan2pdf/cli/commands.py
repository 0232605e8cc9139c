"""The commands: parse, build ``Options``, call the library. ``handler.py`` turns what
happened into an exit code; only the ``cli`` package imports Click."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from threading import Event, Thread
from typing import Any

import click

from scan2pdf import __version__
from scan2pdf.cli import examples
from scan2pdf.cli.config import config_option, folder_settings
from scan2pdf.cli.dryrun import show_plan
from scan2pdf.cli.handler import ProgressSettings, run_batch, run_plain
from scan2pdf.cli.params import (
    accept_truncated_option,
    build_options,
    conversion_options,
    run_options,
)
from scan2pdf.cli.search import index_command, search_command
from scan2pdf.cli.status import status_command
from scan2pdf.cli.verify import verify_command
from scan2pdf.core.api import convert, retry
from scan2pdf.core.counting import Totals, count_in_background
from scan2pdf.core.dryrun import dry_run
from scan2pdf.core.events import EventCallback, FileFinished
from scan2pdf.core.options import Options
from scan2pdf.core.report import Report
from scan2pdf.core.resume import ON_CONFLICT
from scan2pdf.core.tools import PROGRAMS, installed_languages, program_version
from scan2pdf.errors import ExitCode, UsageError
from scan2pdf.service.watch import Watcher, WatchSettings


def note(text: str) -> None:
    """Something worth a line that is not one file's result (stderr, like all diagnostics)."""
    click.echo(f"warning: {text}", err=True)


# The watch service's defaults are WatchSettings' own (written once, there).
WATCH_DEFAULTS = WatchSettings(Path("INBOX"), Path("OUTDIR"))


# Every option can also come from the environment: SCAN2PDF_<COMMAND>_<OPTION>, e.g.
# SCAN2PDF_WATCH_LANGUAGE=eng+spa or SCAN2PDF_WATCH_POLL=10 (handy under systemd or Docker).
@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "SCAN2PDF"}
)
@click.version_option(__version__, prog_name="scan2pdf")
def cli() -> None:
    """Turn scanned documents into searchable PDFs plus sidecar text."""


@cli.command(name="convert", epilog=examples.CONVERT)
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@conversion_options
@run_options
@click.option(
    "--group-pages",
    is_flag=True,
    help="Make each folder of page images (no PDFs, no subfolders) one PDF named after "
    "the folder, pages in natural order (2.tif before 10.tif).",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="List what would happen to each input (on stdout) and write nothing.",
)
@config_option
def convert_command(
    inputs: tuple[Path, ...],
    output: Path,
    group_pages: bool,
    dry_run: bool,
    report: Path | None,
    journal: Path | None,
    failed: Path | None,
    no_index: bool,
    progress: str,
    progress_file: Path | None,
    cluster: str | None,
    cluster_storage: str,
    quiet: bool,
    verbose: int,
    **settings: Any,
) -> None:
    """Convert INPUT files, folder trees and zip/tar archives into OUTDIR."""
    overrides = folder_settings(click.get_current_context())
    if dry_run:
        run_plain(
            lambda: _dry_run(inputs, output, journal, group_pages, settings, overrides), verbose
        )
        return

    def work(totals: Report, on_event: EventCallback, stop: Event) -> object:
        return convert(
            inputs,
            output,
            build_options(settings),
            folder_options=_folder_options(settings, overrides),
            report=totals,
            report_path=report,
            progress=on_event,
            journal_path=journal,
            failed_dir=failed,
            stop=stop,
            index=not no_index,
            on_notice=note,
            own_pool=True,
            group_pages=group_pages,
            cluster=cluster,
            cluster_storage=cluster_storage,
        )

    def count(tell: Callable[[Totals], None], stop: Event) -> Thread:
        return count_in_background(inputs, output, tell, stop, group_pages=group_pages)

    shown_as = ProgressSettings(progress, progress_file, inputs)
    run_batch(work, quiet, verbose, shown_as, count)


def _dry_run(
    inputs: tuple[Path, ...],
    output: Path,
    journal: Path | None,
    group_pages: bool,
    settings: dict[str, Any],
    overrides: Mapping[str, dict[str, Any]],
) -> None:
    options = build_options(settings)
    steps = dry_run(
        inputs,
        output,
        options,
        group_pages=group_pages,
        journal_path=journal,
        folder_options=_folder_options(settings, overrides),
    )
    show_plan(steps, inputs)


def _folder_options(
    settings: dict[str, Any], overrides: Mapping[str, dict[str, Any]]
) -> dict[str, Options]:
    """The config file's ``[folders."..."]`` tables as options (conversion settings only)."""
    made: dict[str, Options] = {}
    for folder, values in overrides.items():
        other = sorted(set(values) - set(settings))
        if other:
            raise UsageError(
                f"'{other[0]}' cannot be set per folder (in [folders.\"{folder}\"]).",
                "Per-folder settings are those of the conversion: language, image-dpi, ...",
            )
        made[folder] = build_options({**settings, **values})
    return made


@cli.command(name="watch", epilog=examples.WATCH)
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
    default=WATCH_DEFAULTS.rescan,
    show_default=True,
    help="Seconds between full scans besides file events.",
)
@click.option(
    "--settle",
    type=click.FloatRange(min=0),
    default=WATCH_DEFAULTS.settle,
    show_default=True,
    help="Seconds a file's size and mtime must stay unchanged before it is taken.",
)
@click.option(
    "--on-conflict",
    type=click.Choice(ON_CONFLICT),
    default=WATCH_DEFAULTS.on_conflict,
    show_default=True,
    help="When a dropped file's output name is taken by another input's outputs: give it "
    "a name of its own (NAME.EXT.pdf, then NAME.EXT-2.pdf...), replace them, or leave the "
    "file alone (it goes to the failed folder).",
)
@click.option(
    "--give-up",
    type=click.FloatRange(min=0),
    default=WATCH_DEFAULTS.give_up,
    show_default=True,
    help="Seconds a still file that does not parse (damaged), or a PDF that opens only "
    "repaired (what a writer's pause looks like), waits before it is taken anyway: to fail "
    "with its reason (truncated: pages missing), or be converted if only damaged.",
)
@config_option
def watch_command(
    inbox: Path,
    output: Path,
    report: Path | None,
    journal: Path | None,
    failed: Path | None,
    no_index: bool,
    progress: str,
    progress_file: Path | None,
    cluster: str | None,
    cluster_storage: str,
    quiet: bool,
    verbose: int,
    done: Path | None,
    delete_originals: bool,
    poll: float | None,
    rescan: float,
    settle: float,
    on_conflict: str,
    give_up: float,
    **settings: Any,
) -> None:
    """Convert files dropped into INBOX, for as long as it runs (stop: SIGTERM or Ctrl-C).

    Originals leave the inbox only once their outputs are published: to --done
    (default INBOX/.scan2pdf/done) or, with --delete-originals, nowhere. Failures go to
    --failed (default INBOX/.scan2pdf/failed) with NAME.error.json beside them. Every
    option can also be set as SCAN2PDF_WATCH_<OPTION>, e.g. SCAN2PDF_WATCH_OUTPUT.
    """
    target = WatchSettings(
        inbox,
        output,
        done,
        failed,
        delete_originals,
        poll,
        rescan,
        settle,
        give_up,
        journal,
        on_conflict,
    )

    def say(text: str) -> None:
        if not quiet:
            click.echo(f"scan2pdf {__version__}: {text}", err=True)

    def serve(totals: Report, on_event: EventCallback, stop: Event) -> object:
        options = build_options(settings)
        watcher = Watcher(
            target,
            options,
            lambda result: on_event(FileFinished(result)),
            report,
            totals,
            say,
            stop=stop,
            on_problem=note,
            index=not no_index,
            cluster=(cluster, cluster_storage) if cluster else None,
        )
        return watcher.run()

    run_batch(serve, quiet, verbose, ProgressSettings(progress, progress_file))


@cli.command(name="retry", epilog=examples.RETRY)
@click.argument("outdir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--reason", help="Only inputs that failed for this reason (e.g. timeout).")
@accept_truncated_option
@run_options
@config_option
def retry_command(
    outdir: Path,
    reason: str | None,
    accept_truncated: bool,
    jobs: int | None,
    report: Path | None,
    journal: Path | None,
    failed: Path | None,
    no_index: bool,
    progress: str,
    progress_file: Path | None,
    cluster: str | None,
    cluster_storage: str,
    quiet: bool,
    verbose: int,
) -> None:
    """Convert again the inputs OUTDIR's journal lists as failed, with their options."""

    def work(totals: Report, on_event: EventCallback, stop: Event) -> object:
        return retry(
            outdir,
            reason=reason,
            jobs=jobs,
            accept_truncated=accept_truncated,
            report=totals,
            report_path=report,
            progress=on_event,
            journal_path=journal,
            failed_dir=failed,
            stop=stop,
            index=not no_index,
            on_notice=note,
            own_pool=True,
            cluster=cluster,
            cluster_storage=cluster_storage,
        )

    run_batch(work, quiet, verbose, ProgressSettings(progress, progress_file))


@cli.command(epilog=examples.DOCTOR)
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


cli.add_command(search_command)
cli.add_command(status_command)
cli.add_command(index_command)
cli.add_command(verify_command)


def main() -> None:
    cli()
