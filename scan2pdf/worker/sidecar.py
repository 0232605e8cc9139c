"""The document's full text: OCR text where pages were OCRed, the text layer elsewhere.

OCRmyPDF (17.x, ``_pipeline.merge_sidecars``) writes one segment per OCRed page, separated
by form feeds, and collapses each run of pages it did not OCR into a single marker segment
``[OCR skipped on page(s) 3-5]``. We expand those markers back into pages and fill them
with the text the output PDF already carries (pypdf), so the sidecar has every page,
in order, with no tool markers.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pypdf import PdfReader

# What pypdf writes for a glyph it cannot map to Unicode: the glyph's name from the font's
# /Differences, slash and all (``/g437``), run together with its neighbours (``/g437/g258``).
# Only a run that starts a whitespace-separated token is taken for one: a slash inside a
# word (``N/A``, ``and/or``, ``12/05``) is text.
_GLYPH_RUN = re.compile(r"(?:/[A-Za-z._][\w.]*)+", re.ASCII)
_GLYPH_NAME = re.compile(r"/[A-Za-z._][\w.]*", re.ASCII)
# The names fonts give their glyphs carry a number, a dot or an underscore (``g437``,
# ``a.sc``, ``C0_1``); a "name" of letters only (``/DocumentInfo``, ``/usr``) is taken for
# the word it reads as: a stray glyph name kept costs a search less than a word lost.
_WORD_NAME = re.compile(r"/[A-Za-z]+", re.ASCII)
# Alphabetic presentation forms (U+FB00-FB4F), Arabic presentation forms A and B.
_PRESENTATION = re.compile(r"[\ufb00-\ufdff\ufe70-\ufeff]+")
_SKIPPED = re.compile(r"\[OCR skipped on page\(s\) (\d+)(?:-(\d+))?\]")
_Kind = Literal["junk", "invisible", "text"]


@dataclass(frozen=True, slots=True)
class SidecarText:
    pages: tuple[str, ...]
    ocr_pages: int
    # 1-based numbers of kept text-layer pages whose text looks like garbage.
    unreadable: tuple[int, ...] = ()

    def notes(self) -> list[str]:
        if not self.unreadable:
            return []
        pages = ", ".join(map(str, self.unreadable))
        return [
            f"the text layer of page(s) {pages} looks unreadable (fonts without a Unicode "
            "mapping?), so the sidecar leaves it out; --existing-text force OCRs such pages"
        ]

    def without(self, pages: tuple[int, ...]) -> SidecarText:
        """The same text with the given 1-based pages empty (specks Tesseract read as text)."""
        kept = tuple("" if n in pages else p for n, p in enumerate(self.pages, start=1))
        return SidecarText(kept, self.ocr_pages, self.unreadable)

    def render(self) -> str:
        """Pages separated by form feed; each non-empty page ends with a newline."""
        return "\f".join(_tidy(page) for page in self.pages)


def split_ocrmypdf_sidecar(text: str, page_count: int) -> list[str | None]:
    """OCRmyPDF's sidecar -> one entry per page; None where the page was not OCRed."""
    pages: list[str | None] = []
    for segment in text.split("\f"):
        if len(pages) >= page_count:
            break
        marker = _SKIPPED.fullmatch(segment.strip())
        first = len(pages) + 1
        if marker and int(marker.group(1)) == first:
            last = int(marker.group(2) or first)
            pages.extend([None] * (last - first + 1))
        else:
            pages.append(segment)
    # A sidecar shorter than the document (should not happen) leaves pages to the text layer.
    pages.extend([None] * (page_count - len(pages)))
    return pages[:page_count]


def build_sidecar(
    ocrmypdf_sidecar: Path, output: PdfReader, page_count: int, mode: str = "skip"
) -> SidecarText:
    """The full text, page by page.

    In ``redo`` mode OCRmyPDF masks a page's existing text before OCR, so its sidecar
    holds only the *new* text; the page's full text is then its output text layer
    (kept text plus the new invisible OCR text), read for every page.
    """
    raw = ocrmypdf_sidecar.read_text(encoding="utf-8") if ocrmypdf_sidecar.exists() else ""
    split = split_ocrmypdf_sidecar(raw, page_count)
    ocr_pages = sum(1 for page in split if page is not None)
    if mode == "redo":
        split = [None] * page_count
    elif ocr_pages == page_count:
        return SidecarText(tuple(page or "" for page in split), ocr_pages)
    pages = tuple(
        page if page is not None else layer_text(output, index) for index, page in enumerate(split)
    )
    unreadable = tuple(
        index + 1
        for index, (ocr, text) in enumerate(zip(split, pages, strict=True))
        if ocr is None and looks_unreadable(text)
    )
    # Junk (glyph names, control characters) is not text a search could find: left out.
    return SidecarText(pages, ocr_pages, unreadable).without(unreadable)


def looks_unreadable(text: str) -> bool:
    """More than half of the page's glyphs are junk: glyph names pypdf fell back to
    (``/g437``), control, unassigned or private-use characters, or U+FFFD.

    Counted per glyph, not per character (``/g437`` is one glyph shown, not five
    characters), and letters of any script, digits, punctuation and symbols are never junk:
    so a page at least half of whose glyphs are letters and digits, in whatever language,
    is never judged unreadable, and no list of languages is needed to say so.
    """
    junk = shown = 0
    # Names are looked for token by token: whitespace ends a name (with it removed first,
    # "no /DocumentInfo block" ran into one 18-character "name", and the page was dropped).
    for token in text.split():
        run = _GLYPH_RUN.match(token)
        if run is not None:
            for name in _GLYPH_NAME.findall(run.group()):
                if _WORD_NAME.fullmatch(name):
                    shown += len(name)
                else:
                    junk += 1
                    shown += 1
            token = token[run.end() :]
        for ch in token:
            kind = _kind(ch)
            junk += kind == "junk"
            shown += kind != "invisible"
    return junk * 2 > shown


def _kind(ch: str) -> _Kind:
    """Junk is what no font with a Unicode map extracts as. Format characters (soft
    hyphen, zero-width joiners, direction marks) are invisible: real text carries them and
    they show nothing."""
    category = unicodedata.category(ch)
    if category == "Cf":
        return "invisible"
    # Cc control, Cn unassigned, Co private use, Cs a lone surrogate.
    return "junk" if ch == "\ufffd" or category[0] == "C" else "text"


def layer_text(reader: PdfReader, index: int) -> str:
    """A page's existing text layer.

    NUL is dropped: OCRmyPDF 17's fpdf2 renderer maps glyph 0 to U+0000 and places it
    between CJK glyphs; poppler hides it, pypdf passes it through. It is never text.
    """
    return (reader.pages[index].extract_text() or "").replace("\x00", "")


def searchable(text: str) -> str:
    """NFC, with presentation forms (Arabic contextual shapes, Latin ligatures such as ﬁ)
    replaced by the letters they show: what a text layer extracts with some fonts, and
    what no one types into a search."""
    if _PRESENTATION.search(text):
        text = _PRESENTATION.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
    return unicodedata.normalize("NFC", text)


def _tidy(page: str) -> str:
    page = searchable(page).rstrip()
    return f"{page}\n" if page else ""
