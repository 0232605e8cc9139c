"""The text layer is checked against the recognised text before an output is published.

These runs are in-process (the worker's own entry point, real OCRmyPDF and Tesseract), so
that the test can make the check see a corrupted layer: it corrupts the PDF OCRmyPDF
wrote, for real, before the comparison reads it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pikepdf
import pytest
from pypdf import PdfReader

from scan2pdf.core.jobs import Job
from scan2pdf.core.options import Options
from scan2pdf.worker import checked
from scan2pdf.worker.task import convert_file
from scan2pdf.worker.verify import pages_not_carried

from .helpers import squash, text_image

LINE = "Harbour office archive 1962"


def lose_text_layer(pdf: Path) -> None:
    """Empty the forms OCRmyPDF grafts its text layer in: what a bad PDF/A pass does."""
    with pikepdf.open(pdf, allow_overwriting_input=True) as document:
        for page in document.pages:
            for xobject in page.Resources.get("/XObject", {}).values():
                if xobject.get("/Subtype") == "/Form":
                    xobject.write(b"")
        document.save(pdf)


def job(tmp_path: Path, options: Options) -> Job:
    source = text_image(tmp_path / "line.png", LINE)
    return Job(str(source), source, "image", tmp_path / "o.pdf", tmp_path / "o.txt", options, 0)


@pytest.fixture
def corrupting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Corrupt the layer of every output made with these output types."""
    corrupt: list[str] = []
    real = checked.run_ocr

    def run_ocr(source: Path, pdf: Path, sidecar: Path, options: Options, *rest: Any) -> Any:
        run = real(source, pdf, sidecar, options, *rest)
        if options.output_type in corrupt:
            lose_text_layer(pdf)
        return run

    monkeypatch.setattr(checked, "run_ocr", run_ocr)
    return corrupt


def test_a_layer_without_the_text_is_made_again_as_a_plain_pdf(
    tmp_path: Path, corrupting: list[str]
) -> None:
    corrupting.append("auto")
    outcome = convert_file(job(tmp_path, Options()), 1)
    result = outcome.result
    assert result.status == "converted", result.message
    assert result.notes[-1] == (
        "the auto output's text layer lacked the recognised text of page(s) 1; made as a "
        "plain PDF instead (--output-type pdf)"
    )
    assert outcome.pdf is not None
    layer = PdfReader(outcome.pdf).pages[0].extract_text()
    assert squash(LINE) in squash(layer)


def test_a_layer_that_stays_wrong_fails_invalid_output(
    tmp_path: Path, corrupting: list[str]
) -> None:
    corrupting += ["auto", "pdf"]
    result = convert_file(job(tmp_path, Options()), 1).result
    assert (result.status, result.reason) == ("failed", "invalid_output")
    assert result.message is not None
    assert result.message.startswith(
        "The output's text layer does not carry the recognised text of page(s) 1: a search "
        "would not find it."
    )


def test_the_comparison_ignores_order_and_short_pages(tmp_path: Path) -> None:
    outcome = convert_file(job(tmp_path, Options(output_type="pdf")), 1)
    assert outcome.pdf is not None
    assert isinstance(outcome.pdf, Path)
    assert pages_not_carried(outcome.pdf, ["archive 1962 Harbour office"]) == ()
    assert pages_not_carried(outcome.pdf, ["x y"]) == ()  # too little to judge
    assert pages_not_carried(outcome.pdf, ["Minutes of the meeting about the pier"]) == (1,)
