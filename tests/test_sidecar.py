"""Parsing OCRmyPDF's sidecar into pages (format of OCRmyPDF 17.x merge_sidecars)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

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


def test_presentation_forms_become_the_letters_they_show() -> None:
    # Arabic "salam" in contextual shapes (U+FExx), a fi ligature, a decomposed é.
    shaped = "\ufeb3\ufefc\ufee1 \ufb01le cafe\u0301"
    assert SidecarText((shaped,), 1).render() == "سلام file café\n"


def test_a_junk_text_layer_is_noted_and_left_out(tmp_path: Path) -> None:
    from scan2pdf.worker.sidecar import build_sidecar

    # What pypdf extracts from a Type 3 font without a Unicode map (the corpus's
    # type3_font_nomapping.pdf, read for real in test_corpus.py).
    page = SimpleNamespace(extract_text=lambda: "/g437/g258/g3 /g71/g90")
    reader = SimpleNamespace(pages=[page])

    marker = tmp_path / "ocrmypdf.txt"
    marker.write_text("[OCR skipped on page(s) 1]")
    text = build_sidecar(marker, reader, 1)  # type: ignore[arg-type]
    assert text.render() == ""
    assert text.notes()[0].startswith("the text layer of page(s) 1 looks unreadable")
