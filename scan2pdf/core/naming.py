"""The one output-naming rule, for every source of inputs (convert, retry, watch, ...).

An input whose outputs go to folder ``F`` of OUTDIR and that is named ``name.ext`` tries,
in turn:

1. ``F/name.pdf`` (and ``F/name.txt``);
2. ``F/name.ext.pdf``: named after its full file name (``scan.tif.pdf``);
3. ``F/name.ext-2.pdf``, ``-3``, and so on,

and takes the first that is free. A folder of pages made one document (``--group-pages``;
its name is given with a trailing ``/``) tries ``F/folder.pdf``, then ``F/folder-2.pdf``...

A name is taken when another input of this run got it, or when the journal records it as
another input's output, or (for inputs that are new drops rather than files of a tree:
watch) when a file not in the journal is already there.
An output name is never the input's own path. So no input's outputs ever replace another's
(``--on-conflict`` in watch can choose otherwise).

In convert, a folder's files are named in a stable order (``core/discover.py``): first the
first file of each name stem, then the rest, each group by file name. The same tree
always gives the same names.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path, PurePath


def candidates(name: str) -> Iterator[str]:
    """Output file names for an input called ``name``, in order of preference."""
    if name.endswith("/"):  # a folder's pages as one document: no extension to drop
        folder = name.rstrip("/")
        yield f"{folder}.pdf"
        yield from (f"{folder}-{n}.pdf" for n in itertools.count(2))
        return
    first = f"{PurePath(name).stem}.pdf"
    yield first
    if f"{name}.pdf" != first:
        yield f"{name}.pdf"
    for n in itertools.count(2):
        yield f"{name}-{n}.pdf"


def natural_name(name: str) -> str:
    return next(candidates(name))


def sidecar_of(pdf: Path) -> Path:
    return pdf.with_suffix(".txt")


def assign(folder: Path, name: str, taken: Callable[[Path], bool], source: Path) -> Path:
    """The first output PDF path by the rule above; ``taken`` says whether another input
    holds a name (the journal remembers every name it gave). Its sidecar is ``sidecar_of``."""
    own = source.absolute()
    for candidate in candidates(name):
        pdf = folder / candidate
        if own in (pdf.absolute(), sidecar_of(pdf).absolute()):
            continue  # never write an output over the input it is made from
        if not taken(pdf):
            return pdf
    raise AssertionError("unreachable: candidates() never ends")
