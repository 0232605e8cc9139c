"""Benchmark inputs made from ../shared/corpus's real third-party scans (issue 34).

The corpus is read in place: every input here is a new file in the benchmark's temporary
folder, built from the corpus's pixels, never a copy put into the project. A shape whose
corpus files are missing is not built (``missing()`` names what it lacks), so the
benchmark runs without the corpus.

- ``turned_volume``: one scanned PDF (40 pages) with about 30% of its pages turned 90, 180
  or 270 degrees, three ways: real turned scans (tesseract-ocr/test's phototest turned
  left, right and upside down), upright real scans turned in their pixels, and
  OCRmyPDF's cardinal.pdf pages (a scan placed at 0/90/180/270 degrees by the page's
  content matrix, portrait and landscape media boxes);
- ``real_mixed``: 11 loose real letters (old print, a 1985 brochure, an illustrated map in
  a palette PNG, a faint 1914 newspaper column, a Chinese line read with ``-l eng``, a
  page without text, a magazine spread, scanner PDFs) and a 20-page volume, 6 pages turned;
- ``gigapixel``: one 1-bit page of about a gigapixel with some text (memory, not speed);
- ``tiny_files``: many small single-page PNGs (the coordinator's memory against the count).

Every page has pixels of its own (a number drawn in a corner): scan2pdf converts identical
files once, which would flatter it. Beside each shape, the pages the floor (Tesseract
alone) reads: every page that needs OCR as a grayscale PNG, the right way up (the builder
knows how each page was turned), at its scan resolution.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import img2pdf
import pikepdf
from PIL import Image, ImageDraw, ImageFont
from pypdf import PdfReader

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"
CARDINAL = "ocrmypdf__cardinal.pdf"
# The rotation (counter-clockwise, as PIL's rotate) that turns the upright page into the
# scan: tesseract-ocr/test's turned phototests, checked pixel for pixel against
# phototest.tif (R is phototest.rotate(270), L phototest.rotate(90)).
REAL_TURNED = {
    "tess__phototest-rotated-R.png": 270,
    "tess__phototest-rotated-180.png": 180,
    "tess__phototest-rotated-L.png": 90,
}
# Upright real pages a volume cycles through, and its turned pages. ("cardinal", k) is
# cardinal.pdf's page k (the linn scan placed at k * 90 degrees by the content matrix);
# (name, angle) an upright scan turned in its pixels; a REAL_TURNED name, that scan.
UPRIGHT_PAGES: list[tuple[str, int]] = [
    ("tess__phototest.tif", 0),
    ("ocrmypdf__linn.png", 0),
    ("tess__8071_093.3B.tif", 0),  # a 300 dpi magazine spread, ~2.5 s of Tesseract
    ("leptonica__lighttext.jpg", 0),
    ("ocrmypdf__congress.jpg", 0),
    (CARDINAL, 0),
]
TURNED_PAGES: list[tuple[str, int]] = [
    ("tess__phototest-rotated-R.png", 270),
    (CARDINAL, 2),
    ("ocrmypdf__congress.jpg", 90),
    ("tess__phototest-rotated-180.png", 180),
    (CARDINAL, 1),
    ("tess__8071_093.3B.tif", 270),
    ("tess__phototest-rotated-L.png", 90),
    (CARDINAL, 3),
    ("leptonica__lighttext.jpg", 180),
    ("ocrmypdf__linn.png", 90),
]
# Loose letters of real-mixed, one file each. baiona_cmyk.jpg is left out: OCRmyPDF
# refuses a CMYK JPEG without an ICC profile (exit 2), so its peers could not convert it.
LETTERS = [
    "tess__phototest.tif",  # a clean modern page, 1-bit
    "ocrmypdf__congress.jpg",  # old print: an 1871 Senate document, yellowed, no DPI
    "ocrmypdf__linn.png",  # a palette image: a 1985 two-column brochure, no DPI
    "ocrmypdf__baiona_colormapped.png",  # an illustration: a map in a palette PNG
    "leptonica__lighttext.jpg",  # low contrast: a faint 1914 newspaper column
    "tessjs__chinese.png",  # a CJK line, read with -l eng like the rest
    "ocrmypdf__blank.pdf",  # a page without text
    "tess__8071_093.3B.tif",  # a 300 dpi magazine spread
    "ocrmypdf__epson.pdf",  # an Epson scanner's PDF of a printout (CCITT)
    "ocrmypdf__skew.pdf",  # a skewed scan (JBIG2)
    "ocrmypdf__kcs.pdf",  # a Kodak Capture slip (CCITT)
]
TURNED_VOLUME_NEEDS = sorted({n for n, _ in UPRIGHT_PAGES + TURNED_PAGES})
REAL_MIXED_NEEDS = sorted({*TURNED_VOLUME_NEEDS, *LETTERS})


def missing(names: Sequence[str]) -> list[str]:
    """The corpus files among ``names`` that are not there (all of them without a corpus)."""
    return [n for n in names if not (CORPUS / n).is_file()]


@dataclass
class Built:
    files: list[Path]
    floor_pages: list[Path]
    turned: int  # pages scanned turned, of all the pages


# ---- pages ---------------------------------------------------------------------------------


def mark(image: Image.Image, number: int) -> Image.Image:
    """A copy of ``image`` with ``number`` drawn in its top-left corner (pixels of its own)."""
    marked = image.copy()
    ink: int | tuple[int, ...] = {"RGB": (0, 0, 0), "CMYK": (0, 0, 0, 255)}.get(marked.mode, 0)
    ImageDraw.Draw(marked).text((5, 5), str(number), fill=ink)
    return marked


def _open(name: str) -> tuple[Image.Image, float | None]:
    """A corpus image, loaded, and its resolution (None when it states none)."""
    with Image.open(CORPUS / name) as image:
        image.load()
        dpi = image.info.get("dpi")
        return image.copy(), (float(dpi[0]) if dpi and dpi[0] > 1 else None)


def _floor_png(image: Image.Image, dpi: float, target: Path) -> Path:
    image.convert("L").save(target, dpi=(dpi, dpi))
    return target


def _encoded(scan: Image.Image, dpi: float, jpeg: bool) -> bytes:
    """``scan`` as a scanner writes it: 1-bit as CCITT G4 TIFF, JPEG stays JPEG, else PNG."""
    out = io.BytesIO()
    if scan.mode == "1":
        scan.save(out, "TIFF", compression="group4", dpi=(dpi, dpi))
    elif jpeg:
        scan.save(out, "JPEG", quality=92, dpi=(round(dpi), round(dpi)))
    else:
        scan.save(out, "PNG", dpi=(dpi, dpi))
    return out.getvalue()


def _linn_1bit() -> Image.Image:
    """cardinal.pdf's scan (its content is linn.png, 2550x3300 at 300 dpi), as 1-bit."""
    image, _ = _open("ocrmypdf__linn.png")
    return image.convert("L").convert("1", dither=Image.Dither.NONE)


def volume(
    target: Path, floor: Path, count: int, turned: int, first: int
) -> tuple[Path, list[Path], int]:
    """A ``count``-page scanned PDF with ``turned`` pages turned (spread evenly), its pages
    numbered from ``first``; the floor's upright pages are written into ``floor``."""
    opened: list[pikepdf.Pdf] = []
    floor_pages: list[Path] = []
    upright_n = turned_n = 0
    linn: Image.Image | None = None
    with pikepdf.new() as out:
        for index in range(count):
            is_turned = (index + 1) * turned // count > index * turned // count
            if is_turned:
                name, angle = TURNED_PAGES[turned_n % len(TURNED_PAGES)]
                turned_n += 1
            else:
                name, angle = UPRIGHT_PAGES[upright_n % len(UPRIGHT_PAGES)]
                upright_n += 1
            number = first + index
            floor_png = floor / f"{number:05d}.png"
            if name == CARDINAL:
                linn = linn if linn is not None else _linn_1bit()
                upright = mark(linn, number)
                source = pikepdf.open(CORPUS / CARDINAL)  # a fresh copy for each page
                opened.append(source)
                out.pages.append(source.pages[angle])
                _replace_scan(out, out.pages[-1], upright, 300.0, opened)
                floor_pages.append(_floor_png(upright, 300.0, floor_png))
                continue
            image, dpi = _open(name)
            dpi = dpi or 300.0
            jpeg = name.endswith(".jpg")
            if name in REAL_TURNED:  # a real turned scan: marked as scanned, read upright
                scan = mark(image, number)
                upright = scan.rotate(360 - REAL_TURNED[name], expand=True)
            else:
                upright = mark(image, number)
                scan = upright.rotate(angle, expand=True) if angle else upright
            one = pikepdf.open(io.BytesIO(img2pdf.convert(_encoded(scan, dpi, jpeg))))
            opened.append(one)
            out.pages.append(one.pages[0])
            floor_pages.append(_floor_png(upright, dpi, floor_png))
        out.save(target)
    for pdf in opened:
        pdf.close()
    return target, floor_pages, turned


def _replace_scan(
    out: pikepdf.Pdf, page: pikepdf.Page, image: Image.Image, dpi: float, opened: list[pikepdf.Pdf]
) -> None:
    """Put ``image`` (1-bit) in place of a cardinal.pdf page's scan, as a CCITT G4 stream
    of the page's own (the page keeps its media box and the content matrix that turns it)."""
    one = pikepdf.open(io.BytesIO(img2pdf.convert(_encoded(image, dpi, jpeg=False))))
    opened.append(one)
    scan = next(iter(one.pages[0].Resources.XObject.values()))
    resources = page.Resources
    page.obj.Resources = out.make_indirect(
        pikepdf.Dictionary(
            ExtGState=resources.ExtGState,
            ProcSet=resources.get("/ProcSet", pikepdf.Array()),
            XObject=pikepdf.Dictionary(Im0=out.copy_foreign(scan)),
        )
    )


# ---- shapes ----------------------------------------------------------------------------------


def turned_volume(work: Path, scale: float = 1.0) -> Built:
    """(a) one 40-page volume with 12 pages turned (scaled: at least 4 pages, 30% turned)."""
    folder, floor = work / "turned-volume", work / "floor-turned-volume"
    folder.mkdir()
    floor.mkdir()
    count = max(4, round(40 * scale))
    path, pages, turned = volume(folder / "volume.pdf", floor, count, round(count * 0.3), 34_000)
    return Built([path], pages, turned)


def real_mixed(work: Path, scale: float = 1.0) -> Built:
    """(b) 11 loose real letters and a 20-page volume with 6 pages turned."""
    folder, floor = work / "real-mixed", work / "floor-real-mixed"
    folder.mkdir()
    floor.mkdir()
    count = max(4, round(20 * scale))
    path, pages, turned = volume(folder / "volume.pdf", floor, count, round(count * 0.3), 35_000)
    files = [path]
    for number, name in enumerate(LETTERS[: max(1, round(len(LETTERS) * scale))], 35_500):
        target = folder / f"letter-{number}-{name}"
        if name.endswith(".pdf"):  # one copy of each in the shape: its own bytes already
            shutil.copyfile(CORPUS / name, target)
            pages += rasterise_pdf(target, floor, f"{number:05d}")
        else:
            image, dpi = _open(name)
            marked = mark(image, number)
            _save_like(marked, CORPUS / name, target, dpi)
            pages.append(_floor_png(marked, dpi or 300.0, floor / f"{number:05d}.png"))
        files.append(target)
    return Built(files, pages, turned)


def _save_like(image: Image.Image, source: Path, target: Path, dpi: float | None) -> None:
    """Saved in the source's format, with its resolution only if it states one (scans
    without a DPI are a case of their own) and its TIFF compression."""
    options: dict[str, Any] = {} if dpi is None else {"dpi": (dpi, dpi)}
    if source.suffix in (".tif", ".tiff"):
        with Image.open(source) as original:
            compression = original.info.get("compression", "raw")
        options["compression"] = compression if compression != "raw" else None
    elif source.suffix == ".jpg":
        options["quality"] = 92
        if dpi is not None:
            options["dpi"] = (round(dpi), round(dpi))
    image.save(target, **options)


def rasterise_pdf(path: Path, folder: Path, prefix: str, dpi: int | None = None) -> list[Path]:
    """Every page of ``path`` without text, rendered in grayscale at its scan resolution
    (pdftoppm when installed, else PDFium), as the floor reads them."""
    reader = PdfReader(path)
    with pikepdf.open(path) as pdf:
        dpis = [dpi or scan_dpi(page) for page in pdf.pages]
    pages: list[Path] = []
    for index, page in enumerate(reader.pages):
        if (page.extract_text() or "").strip():
            continue  # --skip-text: nobody OCRs this page
        target = folder / f"{prefix}-{index:04d}.png"
        render_gray(path, index, dpis[index], target)
        pages.append(target)
    return pages


def render_gray(path: Path, index: int, dpi: int, target: Path) -> None:
    """Page ``index`` of ``path`` as a grayscale PNG at ``dpi``."""
    if shutil.which("pdftoppm"):
        page = str(index + 1)
        subprocess.run(
            [
                *("pdftoppm", "-gray", "-png", "-r", str(dpi), "-f", page, "-l", page),
                *("-singlefile", str(path), str(target.with_suffix(""))),
            ],
            check=True,
        )
        return
    import pypdfium2

    document = pypdfium2.PdfDocument(path)
    try:
        bitmap = document[index].render(scale=dpi / 72, grayscale=True)
        bitmap.to_pil().convert("L").save(target, dpi=(dpi, dpi))
    finally:
        document.close()


def scan_dpi(page: pikepdf.Page) -> int:
    """The resolution of the widest image on a PDF page (what the scanner produced)."""
    box = page.mediabox
    width_in = float(box[2] - box[0]) / 72
    widths = [int(image.Width) for image in page.get_images().values()]
    return min(600, max([150, *(round(w / width_in) for w in widths)]))


def gigapixel(work: Path, side: int = 32_000, dpi: int = 600) -> Path:
    """One 1-bit page of ``side`` x ``side`` pixels (32000: 1.02 gigapixels, 53 in square
    at 600 dpi, so OCRed at full size under the default --max-ocr-dpi) as a CCITT G4 TIFF,
    with three blocks of 12 pt text and white elsewhere, like a large-format drawing."""
    folder = work / "gigapixel"
    folder.mkdir()
    image = Image.new("1", (side, side), 1)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=round(dpi * 12 / 72))
    lines = "\n".join(
        f"Sheet {n} of the survey: the quick brown fox jumps over the lazy dog, 1871."
        for n in range(1, 25)
    )
    for x, y in ((0.05, 0.05), (0.45, 0.45), (0.6, 0.85)):
        draw.multiline_text((round(side * x), round(side * y)), lines, font=font, fill=0)
    target = folder / "gigapixel.tif"
    image.save(target, compression="group4", dpi=(dpi, dpi))
    return target


def tiny_files(folder: Path, count: int) -> Path:
    """``count`` small single-page PNGs, each with content of its own."""
    folder.mkdir()
    for n in range(count):
        image = Image.new("L", (320, 90), 255)
        ImageDraw.Draw(image).text((10, 30), f"Coordinator memory file {n}", fill=0)
        image.save(folder / f"t-{n:05d}.png", dpi=(300, 300))
    return folder
