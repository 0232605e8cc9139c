"""What made an output: the versions of OCRmyPDF, Tesseract, its language data and Ghostscript.

Kept in the journal beside every converted file (``files.made_by``), so that when one of
them turns out to have a fault (OCRmyPDF 17.12's release notes: text layers garbled by
some Ghostscript versions' PDF/A pass) the files it made can be found and made again.
A language's data is named by a digest of its file: Debian updates traineddata without
changing Tesseract's version.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

from scan2pdf.core.tools import program_version, tessdata_folder
from scan2pdf.worker.loaded import reader


@cache
def made_by(languages: tuple[str, ...]) -> str:
    """JSON: {"ocrmypdf", "tesseract", "reader", "ghostscript", "traineddata": {lang:
    sha256[:16]}}; "reader" says how pages were read: "tesserocr X" (worker/loaded.py,
    built on that same Tesseract) or "program"."""
    import ocrmypdf  # in the worker, where it is loaded already

    folder = tessdata_folder()
    data = {lang: _digest(folder / f"{lang}.traineddata") if folder else None for lang in languages}
    return json.dumps(
        {
            "ocrmypdf": ocrmypdf.__version__,
            "tesseract": program_version("tesseract"),
            "reader": reader(),
            "ghostscript": program_version("gs"),
            "traineddata": data,
        },
        sort_keys=True,
    )


def _digest(path: Path) -> str | None:
    try:
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()[:16]
    except OSError:
        return None
