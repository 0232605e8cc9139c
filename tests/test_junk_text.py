"""The junk-text rule (worker/sidecar.py, ``looks_unreadable``): a kept text layer that
reads as words stays in the sidecar, whatever its font, language or document dictionary;
one made of what fonts without a Unicode map extract as is left out, with a note.

The born-digital pages are generated here (fpdf2, pikepdf); the real Type 3 file is read
from ../shared/corpus in place. ``--ocr-engine none`` keeps the runs fast: every page has a
text layer, so nothing is OCRed and the sidecar is the layer's text.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pikepdf
import pytest
from fpdf import FPDF
from pikepdf import Dictionary, Name
from pypdf import PdfReader

from scan2pdf.worker.sidecar import build_sidecar, layer_text, looks_unreadable

from .conftest import run_scan2pdf
from .helpers import FONT, squash

NOTE = "looks unreadable (fonts without a Unicode mapping?)"
# The reviewer's page: plain words in a standard font, judged junk because the
# ``/DocumentInfo`` in it was taken for a glyph name that swallowed the next word.
SENTENCE = "This file has no /DocumentInfo block"
SPANISH = "¿Dónde está la estación? Año 2024: 1.234,56 € por persona"
CHINESE = "我是中国人。这份文件没有元数据。2024年12月。"


# ---- the rule on extracted text -------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        SENTENCE,
        "This file has no /DocumentInfo\nblock",
        # Short lines: a slash inside or before a word is not a glyph name.
        "N/A",
        "I/O",
        "and/or",
        "/usr/share/fonts",
        "Mensaje /Asunto",
        # Numbers, dates, amounts.
        "12/05/2024",
        "1.234,56 € 7,5 % 3/4",
        "42",
        SPANISH,
        # Accents as combining marks (as some PDFs extract them).
        "Esta\u0301 en la estacio\u0301n",
        CHINESE,
        "中",
        # Soft hyphens and zero-width non-joiners are real text's format characters.
        "Ver\u00adant\u00adwor\u00adtung",
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",
        # Words beside a few unmapped glyphs (a formula in a Type 3 font): each glyph name
        # is one glyph, not five characters, and the words are most of the page.
        "The measured value is /g12/g13/g14/g15/g16/g17 in total",
    ],
)
def test_text_that_reads_as_words_is_kept(text: str) -> None:
    assert not looks_unreadable(text)


@pytest.mark.parametrize(
    "text",
    [
        "/g437/g258",  # the corpus's type3_font_nomapping.pdf, as pypdf extracts it
        "/g437/g258/g3 /g71/g90",
        "/a.sc/b.sc/c.sc",  # suffixed names pypdf does not map
        "/C0_1/C0_2 /C0_3",
        "/.notdef/.notdef",
        # Identity-H fonts without a ToUnicode map: glyph ids read as code points.
        "\x01\x02\x03\x04\x05 \x06\x02 \x07\x08\x0e\x0f",
        "\ufffd\ufffd\ufffd \ufffd",
        "\ue001\ue002\ue003 \uf041\uf042",
        # A header in a mapped font does not save a page of unmapped glyphs.
        "Page 3 " + " ".join(["/g12/g13/g14/g15"] * 5),
    ],
)
def test_junk_is_unreadable(text: str) -> None:
    assert looks_unreadable(text)


def test_an_empty_or_invisible_layer_is_not_junk() -> None:
    assert not looks_unreadable("")
    assert not looks_unreadable(" \n\t")
    assert not looks_unreadable("\u200b\u00ad")


def test_build_sidecar_keeps_words_and_drops_junk_page_by_page(tmp_path: Path) -> None:
    pages = [SENTENCE, "/g437/g258", CHINESE, "\x01\x02\x03 \x04"]
    reader = SimpleNamespace(pages=[SimpleNamespace(extract_text=lambda t=t: t) for t in pages])
    marker = tmp_path / "ocrmypdf.txt"
    marker.write_text("[OCR skipped on page(s) 1-4]")
    text = build_sidecar(marker, reader, 4)  # type: ignore[arg-type]
    assert text.render() == f"{SENTENCE}\n\f\f{CHINESE}\n\f"
    assert text.unreadable == (2, 4)
    assert "page(s) 2, 4 looks unreadable" in text.notes()[0]


# ---- generated born-digital PDFs, converted for real ----------------------------------


def fpdf_page(path: Path, lines: list[str], font: str | None, info: bool) -> Path:
    """A born-digital page: Helvetica (base-14, not embedded) when ``font`` is None, else
    that TrueType font embedded (fpdf2 writes it as Type0/Identity-H with a ToUnicode map)."""
    pdf = FPDF()
    pdf.add_page()
    if font is None:
        pdf.set_font("Helvetica", size=14)
    else:
        pdf.add_font("Embedded", fname=font)
        pdf.set_font("Embedded", size=14)
    for line in lines:
        pdf.cell(text=line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    with pikepdf.open(path, allow_overwriting_input=True) as document:
        if not info:
            del document.trailer["/Info"]
        document.save(path)
    return path


def with_to_unicode(path: Path, cmap: bytes | None) -> Path:
    """Replace (None: remove) every font's ToUnicode map: the fonts without a Unicode map
    that office software and some PDF libraries write."""
    with pikepdf.open(path, allow_overwriting_input=True) as document:
        for page in document.pages:
            for font in page.Resources.Font.values():
                if cmap is None:
                    del font["/ToUnicode"]
                else:
                    font.ToUnicode = document.make_stream(cmap)
        document.save(path)
    return path


def private_use_cmap(codes: int = 0x60) -> bytes:
    """A ToUnicode map sending glyph codes 1.. to U+F021.. (private use): what symbol and
    icon fonts map their glyphs to, and what no search finds."""
    pairs = "\n".join(f"<{code:04X}> <{0xF020 + code:04X}>" for code in range(1, codes + 1))
    return (
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def /CMapType 2 def\n"
        "1 begincodespacerange <0000> <FFFF> endcodespacerange\n"
        f"{codes} beginbfchar\n{pairs}\nendbfchar\n"
        "endcmap CMapName currentdict /CMap defineresource pop end end"
    ).encode()


def page_pdf(pdf: pikepdf.Pdf, path: Path, fonts: Dictionary, content: bytes) -> Path:
    """One page drawn by ``content`` with ``fonts``; pikepdf writes no /Info of its own."""
    page = Dictionary(Type=Name.Page, MediaBox=[0, 0, 612, 792], Resources=Dictionary(Font=fonts))
    page.Contents = pdf.make_stream(content)
    pdf.pages.append(pikepdf.Page(page))
    pdf.save(path)
    return path


def helvetica() -> Dictionary:
    """Base-14 Helvetica, not embedded, no /Encoding (so the font's standard encoding)."""
    return Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica)


def helvetica_page(path: Path, text: str) -> Path:
    content = b"BT /F1 14 Tf 72 700 Td (" + text.encode("ascii") + b") Tj ET"
    return page_pdf(pikepdf.new(), path, Dictionary(F1=helvetica()), content)


def chinese_page(path: Path, text: str) -> Path:
    """Chinese in Adobe's standard STSong-Light, not embedded, with the UCS-2 CMap (what
    ReportLab and iText write): no CJK TrueType font is installed here to embed."""
    descendant = Dictionary(
        Type=Name.Font,
        Subtype=Name.CIDFontType0,
        BaseFont=Name("/STSong-Light"),
        CIDSystemInfo=Dictionary(
            Registry=pikepdf.String("Adobe"), Ordering=pikepdf.String("GB1"), Supplement=2
        ),
        FontDescriptor=Dictionary(
            Type=Name.FontDescriptor,
            FontName=Name("/STSong-Light"),
            Flags=6,
            FontBBox=[0, -200, 1000, 900],
            ItalicAngle=0,
            Ascent=880,
            Descent=-120,
            CapHeight=880,
            StemV=93,
        ),
        DW=1000,
    )
    font = Dictionary(
        Type=Name.Font,
        Subtype=Name.Type0,
        BaseFont=Name("/STSong-Light"),
        Encoding=Name("/UniGB-UCS2-H"),
        DescendantFonts=[descendant],
    )
    shown = text.encode("utf-16-be").hex().encode()
    content = b"BT /F1 18 Tf 72 700 Td <" + shown + b"> Tj ET"
    return page_pdf(pikepdf.new(), path, Dictionary(F1=font), content)


def type3_font(pdf: pikepdf.Pdf, names: list[str]) -> Dictionary:
    """A Type 3 font whose glyphs (filled squares) have names outside Adobe's glyph list and
    no ToUnicode map: what TeX bitmap fonts and cairo write. Codes 1, 2, ... show them."""
    square = b"500 0 0 0 400 400 d1 0 0 400 400 re f"
    return Dictionary(
        Type=Name.Font,
        Subtype=Name.Type3,
        FontBBox=[0, 0, 400, 400],
        FontMatrix=[0.001, 0, 0, 0.001, 0, 0],
        CharProcs=Dictionary({f"/{n}": pdf.make_stream(square) for n in names}),
        Encoding=Dictionary(Type=Name.Encoding, Differences=[1, *(Name(f"/{n}") for n in names)]),
        FirstChar=1,
        LastChar=len(names),
        Widths=[500] * len(names),
    )


def type3_page(path: Path, words: str | None) -> Path:
    """A page drawn in a Type 3 font without a Unicode map, with ``words`` (Helvetica)
    above its glyphs and more below when given: a formula set in such a font."""
    names = [f"g{n}" for n in range(12, 18)]
    glyphs = b"<" + bytes(range(1, len(names) + 1)).hex().encode() + b">"
    content = b"BT /T3 18 Tf 72 640 Td " + glyphs + b" Tj ET"
    if words is not None:
        content = b"BT /F1 14 Tf 72 700 Td (%s) Tj ET " % words.encode() + content
        content += b" BT /F1 14 Tf 72 600 Td (in total.) Tj ET"
    pdf = pikepdf.new()
    return page_pdf(pdf, path, Dictionary(T3=type3_font(pdf, names), F1=helvetica()), content)


def embedded_font() -> str:
    if not Path(FONT).exists():
        pytest.skip(f"{FONT} is not installed (fonts-dejavu-core)")
    return FONT


# name -> (how to make it, the words its sidecar keeps; None: left out as junk)
Maker = Callable[[Path], Path]
PAGES: dict[str, tuple[Maker, str | None]] = {
    "standard-pikepdf": (lambda p: helvetica_page(p, SENTENCE), SENTENCE),
    "standard-no-info": (lambda p: fpdf_page(p, [SENTENCE], None, info=False), SENTENCE),
    "standard-info": (lambda p: fpdf_page(p, [SENTENCE], None, info=True), SENTENCE),
    "embedded-no-info": (
        lambda p: fpdf_page(p, [SENTENCE], embedded_font(), info=False),
        SENTENCE,
    ),
    "embedded-info": (lambda p: fpdf_page(p, [SENTENCE], embedded_font(), info=True), SENTENCE),
    "short-line": (lambda p: fpdf_page(p, ["N/A"], None, info=False), "N/A"),
    "spanish": (
        lambda p: fpdf_page(p, [SPANISH, SENTENCE], embedded_font(), info=False),
        f"{SPANISH}\n{SENTENCE}",
    ),
    "chinese": (lambda p: chinese_page(p, CHINESE), CHINESE),
    # Words beside a formula in a Type 3 font: the page is kept, glyph names and all.
    "formula": (
        lambda p: type3_page(p, "The measured value is"),
        "The measured value is /g12/g13/g14/g15/g16/g17 in total.",
    ),
    # the junk the rule exists for
    "type3": (lambda p: type3_page(p, None), None),
    "no-to-unicode": (
        lambda p: with_to_unicode(fpdf_page(p, [SPANISH], embedded_font(), info=False), None),
        None,
    ),
    "private-use": (
        lambda p: with_to_unicode(
            fpdf_page(p, [SENTENCE], embedded_font(), info=False), private_use_cmap()
        ),
        None,
    ),
}
KEPT = [name for name, (_, words) in PAGES.items() if words is not None]
JUNK = [name for name, (_, words) in PAGES.items() if words is None]


Record = dict[str, object]


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Record]]:
    """One real conversion of every generated page (their folder as INPUT)."""
    base = tmp_path_factory.mktemp("junk-text")
    source = base / "in"
    source.mkdir()
    for name, (make, _) in PAGES.items():
        make(source / f"{name}.pdf")
    out = base / "out"
    run = run_scan2pdf(
        "convert", source, "-o", out, "--ocr-engine", "none", report=base / "r.jsonl"
    )
    assert run.returncode == 0, run.stderr
    return out, {Path(name).stem: record for name, record in run.by_name().items()}


def noted(record: Record) -> bool:
    """Whether the report says the page's text layer was left out as unreadable."""
    notes = record["notes"]
    assert isinstance(notes, list)
    return any(f"page(s) 1 {NOTE}" in str(note) for note in notes)


@pytest.mark.parametrize("name", KEPT)
def test_a_born_digital_page_keeps_its_words(
    converted: tuple[Path, dict[str, Record]], name: str
) -> None:
    out, records = converted
    expected = PAGES[name][1]
    assert expected is not None
    assert records[name]["status"] == "converted"
    assert records[name]["ocr_pages"] == 0
    assert squash((out / f"{name}.txt").read_text(encoding="utf-8")) == squash(expected)
    assert not noted(records[name])


@pytest.mark.parametrize("name", JUNK)
def test_a_junk_text_layer_is_left_out_with_the_note(
    converted: tuple[Path, dict[str, Record]], name: str
) -> None:
    out, records = converted
    # The layer really is what such fonts extract as, before and after conversion.
    assert looks_unreadable(layer_text(PdfReader(out.parent / "in" / f"{name}.pdf"), 0))
    assert looks_unreadable(layer_text(PdfReader(out / f"{name}.pdf"), 0))
    assert (out / f"{name}.txt").read_text(encoding="utf-8") == ""
    assert noted(records[name])


@pytest.mark.corpus
def test_the_real_type3_file_is_still_left_out(corpus: Path, tmp_path: Path) -> None:
    source = corpus / "ocrmypdf__type3_font_nomapping.pdf"
    assert looks_unreadable(layer_text(PdfReader(source), 0))
    run = run_scan2pdf(
        "convert", source, "-o", tmp_path, "--ocr-engine", "none", report=tmp_path / "r.jsonl"
    )
    assert run.report[0]["status"] == "converted", run.stderr
    assert (tmp_path / "ocrmypdf__type3_font_nomapping.txt").read_text(encoding="utf-8") == ""
    assert noted(run.report[0])
