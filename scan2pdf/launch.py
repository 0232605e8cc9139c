"""The ``scan2pdf`` command's entry point: start the workers' forkserver first, then the CLI.

Workers fork from a forkserver that imports OCRmyPDF before it can fork anything (0.55 s
on the benchmark machine), and until then no page reaches Tesseract. Started here, before
the CLI's own imports and tool checks (0.2 s), that wait overlaps them. Only commands
that convert start it; this module imports nothing but the standard library (and
``core/stopping.py``, which imports nothing else either).
"""

from __future__ import annotations

import sys
from multiprocessing import forkserver, get_context

# The module workers run (execution/local.CONVERT is built from it); the forkserver
# preloads it.
WORKER_MODULE = "scan2pdf.worker.task"
CONVERTING_COMMANDS = frozenset({"convert", "retry", "watch"})


def main() -> None:
    if CONVERTING_COMMANDS.intersection(sys.argv[1:2]) and not {"-h", "--help"} & set(sys.argv):
        # A stop from now on ends the run cleanly with 130, even before it has started.
        from scan2pdf.core.stopping import listen_early

        listen_early()
        get_context("forkserver").set_forkserver_preload([WORKER_MODULE])
        forkserver.ensure_running()

    from scan2pdf.cli import main as cli_main

    cli_main()
