"""Parsing OCRmyPDF's sidecar into pages (format of OCRmyPDF 17.x merge_sidecars)."""

from __future__ import annotations

from scan2pdf.worker.sidecar import SidecarText, split_ocrmypdf_sidecar


def test_markers_expand_to_the_pages_they_cover() -> None:
    raw = "one\n\f[OCR skipped on page(s) 2-3]\ffour\n\f[OCR skipped on page(s) 5]"
    assert split_ocrmypdf_sidecar(raw, 5) == ["one\n", None, None, "four\n", None]


def test_text_that_merely_mentions_a_marker_is_ocr_text() -> None:
    raw = "see [OCR skipped on page(s) 1] in the manual"
    assert split_ocrmypdf_sidecar(raw, 1) == [raw]


def test_marker_for_the_wrong_page_is_text() -> None:
    assert split_ocrmypdf_sidecar("[OCR skipped on page(s) 7]", 1) == ["[OCR skipped on page(s) 7]"]


def test_short_sidecar_leaves_remaining_pages_to_the_text_layer() -> None:
    assert split_ocrmypdf_sidecar("", 3) == ["", None, None]


def test_render_separates_pages_with_form_feeds() -> None:
    text = SidecarText(("first  \n\n", "", "third"), ocr_pages=2)
    assert text.render() == "first\n\f\fthird\n"
