"""Option groups built from ``Options`` (defaults, ranges, choices and help live there).

- ``conversion_options``: what the output looks like; convert and watch.
- ``run_options``: how a run goes and what it tells; convert, retry and watch.

Every option can also come from the environment: SCAN2PDF_<COMMAND>_<OPTION>, e.g.
SCAN2PDF_WATCH_LANGUAGE=eng+spa (Click's ``auto_envvar_prefix``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, Field, fields
from pathlib import Path
from typing import Any, TypeVar

import click

from scan2pdf.cli.progress import PROGRESS_MODES
from scan2pdf.core.options import Options, option_flag
from scan2pdf.execution.cluster import STORAGE_MODES as CLUSTER_STORAGE

F = TypeVar("F", bound=Callable[..., Any])
Decorator = Callable[[F], F]

# Short spellings (DESIGN.md, "CLI contract").
_SHORT = {"languages": "-l", "jobs": "-j"}
# Fields whose option is spelled otherwise (also in SCAN2PDF_<COMMAND>_LANGUAGE).
_SPELLED = {"languages": "language"}


def _apply(func: F, decorators: list[Decorator[F]]) -> F:
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def _from_field(f: Field[Any]) -> Decorator[Any]:
    meta, default = f.metadata, f.default
    param = _SPELLED.get(f.name, f.name)
    names = [n for n in (_SHORT.get(f.name), option_flag(param)) if n]
    kwargs: dict[str, Any] = {"help": meta["help"], "show_default": default is not None}
    if f.name == "languages":
        kwargs.update(default="+".join(Options().languages), metavar="LANGS")
    elif isinstance(default, bool) and default:  # on unless turned off: --x/--no-x
        names = [n for n in names if n.startswith("--")]
        names = [f"{names[0]}/--no-{names[0].removeprefix('--')}"]
        kwargs.update(default=True, show_default=False)
    elif isinstance(default, bool):
        kwargs.update(is_flag=True, default=default, show_default=False)
    elif meta["choices"] is not None:
        kwargs.update(type=click.Choice(meta["choices"]), default=default)
    elif isinstance(default, float):
        kwargs.update(
            type=click.FloatRange(meta["low"], meta["high"], min_open=meta["low_open"]),
            default=default,
        )
    else:  # an int, or None for "decided at run time" (jobs)
        kwargs.update(type=click.IntRange(meta["low"], meta["high"]), default=default)
    return click.option(*names, param, **kwargs)


def _group(name: str) -> list[Decorator[Any]]:
    return [
        _from_field(f)
        for f in fields(Options)
        if f.metadata.get("group") == name and f.default is not MISSING
    ]


def conversion_options(func: F) -> F:
    """What the output looks like: shared by convert and watch (DESIGN.md, CLI contract)."""
    output = click.option(
        "-o",
        "--output",
        required=True,
        type=click.Path(file_okay=False, path_type=Path),
        help="Output folder; the input tree is mirrored inside it.",
    )
    return _apply(func, [output, *_group("conversion")])


def run_options(func: F) -> F:
    """How a run goes and what it tells: shared by convert, retry and watch."""
    return _apply(
        func,
        [
            *_group("run"),
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
            click.option(
                "--no-index",
                is_flag=True,
                help="Do not keep OUTDIR's search index (scan2pdf search) current.",
            ),
            click.option(
                "--progress",
                type=click.Choice(PROGRESS_MODES),
                default="auto",
                show_default=True,
                help="auto: a progress bar on a terminal, else a line per file; lines: a line "
                "per file; json: one JSON object per event on stderr (schema in the README).",
            ),
            click.option(
                "--progress-file",
                type=click.Path(dir_okay=False, path_type=Path),
                help="Write the JSON progress events to this file; stderr keeps the display.",
            ),
            click.option(
                "--cluster",
                metavar="ADDRESS",
                help="Run per-file work on the Dask scheduler at ADDRESS (tcp://host:8786); "
                "needs pip install 'scan2pdf[cluster]'.",
            ),
            click.option(
                "--cluster-storage",
                type=click.Choice(CLUSTER_STORAGE),
                default="auto",
                show_default=True,
                help="shared: workers see the same files (paths are sent); send: inputs and "
                "outputs travel as bytes; auto: shared when every worker sees OUTDIR and "
                "the inputs.",
            ),
            click.option("-q", "--quiet", is_flag=True, help="Print failures only."),
            click.option("-v", "--verbose", count=True, help="Print details of each file."),
        ],
    )


def accept_truncated_option(func: F) -> F:
    """``--accept-truncated`` (retry): what a PDF cut short has is converted, noted."""
    return click.option(
        "--accept-truncated",
        is_flag=True,
        help="Convert the pages that PDFs with pages missing (reason truncated: cut short, "
        "say by a scanner that never finished writing) do have, with a note saying what is "
        "missing, instead of failing them again.",
    )(func)


def build_options(values: dict[str, Any]) -> Options:
    """``Options`` from the parsed command line (the language spec split here)."""
    values = dict(values)
    values["languages"] = Options.parse_languages(values.pop("language"))
    return Options(**values)  # UsageError (exit 2) for values Click's types let through
