"""``scan2pdf verify OUTDIR``: the fixity audit (``state/fixity.py``) on the command line.

Findings go to stdout, one per line (``path: what (detail)``; ``--json`` for programs), the
count to stderr. Exit codes: 0 every output holds, 1 something differs, 2 bad usage, 4 the
journal cannot be read.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from contextlib import closing
from pathlib import Path

import click

from scan2pdf.cli import examples
from scan2pdf.cli.display import shown
from scan2pdf.cli.handler import run_plain
from scan2pdf.errors import ExitCode, UsageError
from scan2pdf.state.fixity import Tally, audit
from scan2pdf.state.journal import Journal, default_path


@click.command("verify", epilog=examples.VERIFY)
@click.argument("outdir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per finding.")
@click.option(
    "--sources",
    is_flag=True,
    help="Also check that each input still hashes as it did when it was converted.",
)
@click.option(
    "--journal",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The journal to read. Default: OUTDIR/.scan2pdf/journal.sqlite.",
)
def verify_command(outdir: Path, as_json: bool, sources: bool, journal: Path | None) -> None:
    """Check every published output against the size and SHA-256 it was published with."""
    found: Counter[str] = Counter()
    tally = Tally()
    started = time.monotonic()

    def check() -> None:
        path = journal or default_path(outdir)
        if not path.exists():
            raise UsageError(f"There is no journal at '{path}'.", "Run scan2pdf convert first.")
        opened = Journal.snapshot(path)  # read-only: beside a running service, a full disk
        with closing(opened):
            for finding in audit(opened, tally, sources=sources):
                found[finding.what] += 1
                if as_json:
                    click.echo(json.dumps(finding.to_json(), ensure_ascii=False))
                else:
                    click.echo(f"{shown(finding.path)}: {finding.what} ({finding.detail})")

    run_plain(check)
    what = ", ".join(f"{count} {kind}" for kind, count in sorted(found.items()))
    checked = f"{tally.outputs} outputs checked"
    if tally.unhashed:
        checked += f" ({tally.unhashed} more from before outputs were hashed: presence only)"
    if sources:
        checked += f", {tally.sources} sources"
    seconds = time.monotonic() - started
    click.echo(f"{checked} in {seconds:.1f} s: {what or 'all as published'}", err=True)
    sys.exit(int(ExitCode.FAILURES if found else ExitCode.OK))
