"""``convert --dry-run``'s listing: one line per input on stdout (pipe it), a count on stderr.

convert     scans/a.tif -> out/a.pdf (2 pages)
up-to-date  scans/b.tif -> out/b.pdf
group       scans/vol1 -> out/vol1.pdf (200 pages)
fail        scans/box.zip!/../x.tif: unsafe_archive: The archive entry's name is unsafe...
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import click

from scan2pdf.cli.display import shown
from scan2pdf.core.dryrun import Step

_WIDTH = 11


def show_plan(steps: Iterable[Step], roots: tuple[Path, ...]) -> Counter[str]:
    """Print each step as it is decided; return how many of each action."""
    counts: Counter[str] = Counter()
    for step in steps:
        counts[step.action] += 1
        click.echo(_line(step, roots))
    parts = [f"{count} {action}" for action, count in sorted(counts.items())]
    click.echo(
        f"dry run: {', '.join(parts) or 'no inputs'}; nothing was converted or written.", err=True
    )
    return counts


def _line(step: Step, roots: tuple[Path, ...]) -> str:
    source = shown(Path(step.input), roots)
    head = f"{step.action:<{_WIDTH}} {source}"
    if step.reason is not None:
        return f"{head}: {step.reason}: {step.detail}"
    line = f"{head} -> {shown(step.output)}" if step.output is not None else head
    if step.pages and step.action in ("convert", "group"):
        line += f" ({step.pages} page{'s' if step.pages != 1 else ''})"
    if step.detail:
        line += f" ({step.detail})"
    return line
