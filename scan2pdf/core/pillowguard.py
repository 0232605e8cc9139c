"""Opening images: every format scan2pdf reads, and headers read past the bomb guard.

Importing this module registers pillow-heif's HEIC/HEIF opener with Pillow (phone
photos), in the coordinator (sniffing) and the workers (decoding) alike.

Pillow refuses, at open, images over twice ``Image.MAX_IMAGE_PIXELS`` (and warns over
it). Where only the header is read (sniffing a type, guessing the work, checking our own
pixel budget with a clearer message), that refusal is in the way. But the setting is one
for the whole process, and a Dask worker converts several files at once in its threads,
OCRmyPDF relying on the guard in each (a PDF's page image over the budget is refused
there): turned off for one file's header, it is off for every file. ``open_header``
therefore leaves it alone. It parses the header the way ``Image.open`` does (the same
plugins, in the same order) without the size check, so that every other open, in every
thread, and every open after it (img2pdf's, OCRmyPDF's) runs with the guard in place.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageFile, UnidentifiedImageError
from pillow_heif import register_heif_opener

register_heif_opener()

# The bytes Image.open shows each plugin's accept() to recognise its format.
_PREFIX = 16
# What a plugin raises when its accept() took bytes that are not its format after all:
# Image.open then tries the next plugin, and so does _parse.
_NOT_THIS_FORMAT = (SyntaxError, IndexError, TypeError, struct.error)


@contextmanager
def open_header(source: Path | BinaryIO) -> Iterator[ImageFile.ImageFile]:
    """The image at ``source`` (a path, or a seekable stream the caller keeps open), its
    header parsed and no pixel decoded, whatever its size; closed after the block.

    Nothing process-wide changes: the guard stays as it is for every other open, and no
    warning is raised (the size is for the caller to judge, ``images._check_budget``).
    Raises ``UnidentifiedImageError`` (an ``OSError``) as ``Image.open`` does.
    """
    if isinstance(source, Path):
        with source.open("rb") as stream, _parse(stream, str(source)) as image:
            yield image
    else:
        with _parse(source, "") as image:
            yield image


def _parse(stream: BinaryIO, filename: str) -> ImageFile.ImageFile:
    """The first plugin that takes ``stream``, as Image.open searches: the common plugins
    first, every plugin after (each is asked once)."""
    stream.seek(0)
    prefix = stream.read(_PREFIX)
    asked: set[str] = set()
    for load in (Image.preinit, Image.init):
        load()
        for name in [n for n in Image.ID if n not in asked]:
            asked.add(name)
            factory, accept = Image.OPEN[name]
            try:  # as in Image.open, a plugin whose check fails is passed over too
                verdict = accept(prefix) if accept is not None else True
                if isinstance(verdict, str) or not verdict:  # a str: its reason to decline
                    continue
                stream.seek(0)
                return factory(stream, filename)
            except _NOT_THIS_FORMAT:
                continue
    raise UnidentifiedImageError(f"cannot identify image file {filename or stream!r}")
