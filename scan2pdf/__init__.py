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
    from scan2pdf.batch import convert, convert_async
    from scan2pdf.errors import ExitCode, Scan2PdfError
    from scan2pdf.options import Options
    from scan2pdf.report import FileResult, Report

# The API is loaded on first use (PEP 562). Every import of a submodule imports this
# package first, and the command's launcher (launch.py) must stay light enough to start
# the worker forkserver before anything else.
_API = {
    "convert": "scan2pdf.batch",
    "convert_async": "scan2pdf.batch",
    "ExitCode": "scan2pdf.errors",
    "Scan2PdfError": "scan2pdf.errors",
    "Options": "scan2pdf.options",
    "FileResult": "scan2pdf.report",
    "Report": "scan2pdf.report",
}

__all__ = [
    "ExitCode",
    "FileResult",
    "Options",
    "Report",
    "Scan2PdfError",
    "__version__",
    "convert",
    "convert_async",
]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(import_module(_API[name]), name)
    raise AttributeError(f"module 'scan2pdf' has no attribute {name!r}")
