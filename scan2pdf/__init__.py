"""scan2pdf: scanned documents to searchable PDFs plus sidecar text, with OCRmyPDF.

The Python API::

    from scan2pdf import Options, convert
    report = convert(["scans/"], "out/", Options(languages=("eng", "spa")))
    print(report.summary())
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from scan2pdf.core.api import convert, convert_async, retry
    from scan2pdf.core.jobs import Input
    from scan2pdf.core.options import Options
    from scan2pdf.core.pipeline import Feed, Pipeline
    from scan2pdf.core.report import FileResult, Report
    from scan2pdf.core.resume import FeedTraits
    from scan2pdf.core.search import Hit, asearch, search
    from scan2pdf.errors import ExitCode, Scan2PdfError

# The API is loaded on first use (PEP 562). Every import of a submodule imports this
# package first, and the command's launcher (launch.py) must stay light enough to start
# the worker forkserver before anything else.
_API = {
    "convert": "scan2pdf.core.api",
    "convert_async": "scan2pdf.core.api",
    "retry": "scan2pdf.core.api",
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
    "ExitCode",
    "Feed",
    "FeedTraits",
    "FileResult",
    "Hit",
    "Input",
    "Options",
    "Pipeline",
    "Report",
    "Scan2PdfError",
    "__version__",
    "asearch",
    "convert",
    "convert_async",
    "retry",
    "search",
]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(import_module(_API[name]), name)
    raise AttributeError(f"module 'scan2pdf' has no attribute {name!r}")
