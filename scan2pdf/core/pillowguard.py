"""Opening images: every format scan2pdf reads, and headers read without the bomb guard.

Importing this module registers pillow-heif's HEIC/HEIF opener with Pillow (phone
photos), in the coordinator (sniffing) and the workers (decoding) alike.

Pillow refuses, at open, images over ``Image.MAX_IMAGE_PIXELS`` (and warns over half of
that). Where only the header is read (sniffing a type, guessing the work, checking our own
pixel budget with a clearer message), that refusal is in the way: inside ``header_only()``
the guard is off and its warning silenced. Pillow checks only at open, so later opens
(img2pdf's, OCRmyPDF's) run with the guard back in place.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from PIL import Image
from pillow_heif import register_heif_opener

register_heif_opener()


@contextmanager
def header_only() -> Iterator[None]:
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            yield
    finally:
        Image.MAX_IMAGE_PIXELS = saved
