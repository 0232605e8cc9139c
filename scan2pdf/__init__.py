"""scan2pdf: scanned documents to searchable PDFs plus sidecar text, with OCRmyPDF.

The Python API::

    from scan2pdf import convert, extract_text
    text = extract_text("scan.tif", languages=["eng", "spa"])
    report = convert(["scans/"], "out/", languages="eng+spa")
    print(report.summary())

and for asyncio programs ``aextract_text``, ``aconvert`` and ``aconvert_iter``. Every call
in a process shares one warm worker pool and one CPU budget (``shutdown()`` stops it).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from scan2pdf.core.aio import aconvert, aconvert_iter, aextract_text, convert_async
    from scan2pdf.core.api import convert, convert_file, extract_text, retry
    from scan2pdf.core.events import Event, FileFinished, FileStarted, PageDone
    from scan2pdf.core.jobs import Input
    from scan2pdf.core.options import Options
    from scan2pdf.core.pipeline import Feed, Pipeline
    from scan2pdf.core.report import FileResult, Report
    from scan2pdf.core.resume import FeedTraits
    from scan2pdf.core.search import Hit, asearch, search
    from scan2pdf.errors import ConversionError, ExitCode, Scan2PdfError
    from scan2pdf.execution.shared import shutdown

# The API is loaded on first use (PEP 562). Every import of a submodule imports this
# package first, and the command's launcher (launch.py) must stay light enough to start
# the worker forkserver before anything else.
_API = {
    "convert": "scan2pdf.core.api",
    "convert_file": "scan2pdf.core.api",
    "extract_text": "scan2pdf.core.api",
    "retry": "scan2pdf.core.api",
    "aconvert": "scan2pdf.core.aio",
    "aconvert_iter": "scan2pdf.core.aio",
    "aextract_text": "scan2pdf.core.aio",
    "convert_async": "scan2pdf.core.aio",
    "Event": "scan2pdf.core.events",
    "FileFinished": "scan2pdf.core.events",
    "FileStarted": "scan2pdf.core.events",
    "PageDone": "scan2pdf.core.events",
    "shutdown": "scan2pdf.execution.shared",
    "ConversionError": "scan2pdf.errors",
    "Feed": "scan2pdf.core.pipeline",
    "FeedTraits": "scan2pdf.core.resume",
    "Input": "scan2pdf.core.jobs",
    "Pipeline": "scan2pdf.core.pipeline",
    "Hit": "scan2pdf.core.search",
    "search": "scan2pdf.core.search",
    "asearch": "scan2pdf.core.search",
    "ExitCode": "scan2pdf.errors",
    "Scan2PdfError": "scan2pdf.errors",
    "Options": "scan2pdf.core.options",
    "FileResult": "scan2pdf.core.report",
    "Report": "scan2pdf.core.report",
}

__all__ = [
    "ConversionError",
    "Event",
    "ExitCode",
    "Feed",
    "FeedTraits",
    "FileFinished",
    "FileResult",
    "FileStarted",
    "Hit",
    "Input",
    "Options",
    "PageDone",
    "Pipeline",
    "Report",
    "Scan2PdfError",
    "__version__",
    "aconvert",
    "aconvert_iter",
    "aextract_text",
    "asearch",
    "convert",
    "convert_async",
    "convert_file",
    "extract_text",
    "retry",
    "search",
    "shutdown",
]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(import_module(_API[name]), name)
    raise AttributeError(f"module 'scan2pdf' has no attribute {name!r}")
