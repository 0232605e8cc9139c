"""The command line: the only package that imports Click."""

from __future__ import annotations


def main() -> None:
    from scan2pdf.cli.commands import cli

    cli()
