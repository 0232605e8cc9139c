"""scan2pdf: scanned documents to searchable PDFs plus sidecar text, with OCRmyPDF.

The Python API::

    from scan2pdf import Options, convert
    report = convert(["scans/"], "out/", Options(languages=("eng", "spa")))
    print(report.summary())
"""

from __future__ import annotations

__version__ = "0.1.0"

from scan2pdf.convert import convert, convert_async
from scan2pdf.errors import ExitCode, Scan2PdfError
from scan2pdf.options import Options
from scan2pdf.report import FileResult, Report

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
