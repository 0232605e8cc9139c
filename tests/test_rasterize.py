"""The OCR image of a page that is one scan is that scan; every other page is OCRmyPDF's."""

from __future__ import annotations

from pathlib import Path

import pikepdf
import pypdfium2 as pdfium
import pytest
from ocrmypdf.helpers import Resolution
from pikepdf import Dictionary, Name
from PIL import Image, ImageChops, ImageStat

from scan2pdf.core.options import Options
from scan2pdf.core.sniff import sniff
from scan2pdf.worker import rasterize
from scan2pdf.worker.engine import run_ocr
from scan2pdf.worker.preflight import prepare

from .conftest import SAMPLES, run_scan2pdf
from .helpers import pdf_pages, pdf_text, rendered_lightness, squash

DEVICE = {"1": "pngmonod", "L": "pnggray", "RGB": "png16m"}


def prepared(source: Path, scratch: Path) -> Path:
    """The PDF scan2pdf hands to OCRmyPDF for ``source`` (images become one-image pages)."""
    scratch.mkdir()
    return prepare(source, sniff(source), Options(), scratch).pdf


def page_dpi(pdf_path: Path, pageno: int) -> tuple[Resolution, str]:
    """The scan's resolution and Pillow mode on a page, from its one image."""
    with pikepdf.open(pdf_path) as pdf:
        page = pdf.pages[pageno - 1]
        image = next(iter(page.obj.Resources.XObject.values()))
        width_in = float(page.mediabox[2] - page.mediabox[0]) / 72
        dpi = int(image.Width) / width_in
        mode = pikepdf.PdfImage(image).as_pil_image().mode
    return Resolution(dpi, dpi), mode


def hook(
    pdf: Path, out: Path, pageno: int = 1, like: Path | None = None, **changes: object
) -> Path | None:
    """Call the hook as OCRmyPDF would for the page's scan (or for the same page of ``like``)."""
    dpi, mode = page_dpi(like or pdf, pageno)
    arguments: dict[str, object] = dict(
        input_file=pdf,
        output_file=out,
        raster_device=DEVICE[mode],
        raster_dpi=dpi,
        pageno=pageno,
        page_dpi=dpi,
        rotation=0,
        filter_vector=False,
        use_cropbox=False,
    )
    return rasterize.rasterize_pdf_page(**(arguments | changes))  # type: ignore[arg-type]


def rendered(pdf: Path, pageno: int, size: tuple[int, int]) -> Image.Image:
    """The page as PDFium draws it at the scan's own resolution (what OCRmyPDF would OCR)."""
    document = pdfium.PdfDocument(str(pdf))
    try:
        page = document[pageno - 1]
        return page.render(scale=size[0] / page.get_width()).to_pil().convert("L")
    finally:
        document.close()


@pytest.mark.parametrize(
    ("sample", "pageno", "mode"),
    [
        ("reports/scanned-report.pdf", 2, "L"),  # a scanned PDF, grey
        ("letters/english-letter.tif", 1, "1"),  # G4 TIFF, CCITT with BlackIs1 in the PDF
        ("notices/chinese-notice.jpg", 1, "RGB"),  # colour JPEG, passed through as DCT
    ],
)
def test_a_page_that_is_one_scan_is_ocred_from_the_scan_itself(
    tmp_path: Path, sample: str, pageno: int, mode: str
) -> None:
    pdf = prepared(SAMPLES / sample, tmp_path / "prep")
    out = tmp_path / "rasterize.png"

    assert hook(pdf, out, pageno) == out

    with Image.open(out) as image:
        assert image.mode == mode
        assert image.format == "TIFF"  # uncompressed, whatever OCRmyPDF named it
        assert round(image.info["dpi"][0]) == round(page_dpi(pdf, pageno)[0].x)
        ours = image.convert("L")
    reference = rendered(pdf, pageno, ours.size).crop((0, 0, *ours.size))
    # Same pixels up to PDFium's smoothing; an inverted, shifted or rotated scan differs
    # by well over 100 on average.
    difference = ImageStat.Stat(ImageChops.difference(ours, reference)).mean[0]
    assert difference < 10, difference


def with_page(source: Path, target: Path, change: str) -> Path:
    """``source`` with its first page altered so that it is no longer just one scan."""
    with pikepdf.open(source) as pdf:
        page = pdf.pages[0]
        name = next(iter(page.obj.Resources.XObject.keys()))
        image = page.obj.Resources.XObject[name]
        width, height = (float(v) for v in page.mediabox[2:])
        if change == "text drawn over it":
            font = Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica)
            page.obj.Resources.Font = Dictionary(F1=font)
            page.contents_add(pdf.make_stream(b"BT /F1 12 Tf 10 10 Td (note) Tj ET"))
        elif change == "placed in a corner":
            corner = f"q {width / 2} 0 0 {height / 2} 0 0 cm {name} Do Q"
            page.obj.Contents = pdf.make_stream(corner.encode())
        elif change == "page rotated":
            page.obj.Rotate = 90
        elif change == "soft mask":
            image.SMask = pdf.make_stream(
                b"\xff" * 4,
                Type=Name.XObject,
                Subtype=Name.Image,
                Width=2,
                Height=2,
                BitsPerComponent=8,
                ColorSpace=Name.DeviceGray,
            )
        elif change == "two images":
            page.obj.Resources.XObject.Im9 = image
            page.contents_add(pdf.make_stream(b"q 10 0 0 10 0 0 cm /Im9 Do Q"))
        elif change == "line style set first":  # what fpdf2 and ReportLab write
            page.obj.Contents = pdf.make_stream(b"0 J 0.57 w 0 G " + page.obj.Contents.read_bytes())
        elif change == "annotated":
            square = Dictionary(Type=Name.Annot, Subtype=Name.Square, Rect=[0, 0, 50, 50])
            page.obj.Annots = pdf.make_indirect([square])
        pdf.save(target)
    return target


@pytest.mark.parametrize(
    "change",
    [
        "text drawn over it",
        "placed in a corner",
        "page rotated",
        "soft mask",
        "two images",
        "annotated",
    ],
)
def test_any_other_page_is_left_to_ocrmypdf(tmp_path: Path, change: str) -> None:
    source = prepared(SAMPLES / "reports" / "scanned-report.pdf", tmp_path / "prep")
    pdf = with_page(source, tmp_path / "changed.pdf", change)
    out = tmp_path / "rasterize.png"

    assert hook(pdf, out, like=source) is None
    assert not out.exists()


def test_state_operators_that_paint_nothing_do_not_matter(tmp_path: Path) -> None:
    source = prepared(SAMPLES / "reports" / "scanned-report.pdf", tmp_path / "prep")
    pdf = with_page(source, tmp_path / "changed.pdf", "line style set first")
    out = tmp_path / "rasterize.png"

    assert hook(pdf, out, like=source) == out


@pytest.mark.parametrize(
    "changes",
    [
        {"rotation": 90},  # OCRmyPDF turns the page (--rotate-pages)
        {"raster_device": "png16m"},  # the page needs colour a grey scan does not have
        {"raster_dpi": Resolution(150, 150)},  # OCRmyPDF wants it resampled
    ],
    ids=["rotation", "device", "resolution"],
)
def test_a_scan_is_not_taken_when_ocrmypdf_wants_other_pixels(
    tmp_path: Path, changes: dict[str, object]
) -> None:
    pdf = prepared(SAMPLES / "reports" / "scanned-report.pdf", tmp_path / "prep")
    out = tmp_path / "rasterize.png"

    assert hook(pdf, out, **changes) is None
    assert not out.exists()


def test_ocrmypdf_calls_the_hook_for_each_page_it_ocrs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real OCRmyPDF and Tesseract, in this process (one job runs in threads here)."""
    taken: list[bool] = []
    real = rasterize.sole_page_scan

    def counted(page: pikepdf.Page) -> Image.Image | None:
        image = real(page)
        taken.append(image is not None)
        return image

    monkeypatch.setattr(rasterize, "sole_page_scan", counted)
    out, sidecar = tmp_path / "out.pdf", tmp_path / "out.txt"

    run_ocr(SAMPLES / "reports" / "scanned-report.pdf", out, sidecar, Options(), jobs=1, pages=2)

    assert taken == [True, True]
    assert "reservoir" in squash(pdf_text(out))
    assert "pumpingstation" in squash(sidecar.read_text())


@pytest.mark.parametrize(
    "extra",
    [["--existing-text", "force"], ["--deskew", "--clean"]],
    ids=["force", "deskew-clean"],
)
def test_options_that_build_on_the_ocr_image_still_work(tmp_path: Path, extra: list[str]) -> None:
    """OCRmyPDF reads the image this hook wrote for more than OCR: --deskew and --clean
    preprocess it, and force mode makes the visible page from it."""
    report = SAMPLES / "reports" / "scanned-report.pdf"
    run = run_scan2pdf("convert", report, "-o", tmp_path / "out", "-q", *extra)

    assert run.returncode == 0, run.stderr
    pdf = tmp_path / "out" / "scanned-report.pdf"
    assert pdf_pages(pdf) == 2
    for word in ("Annual Report 1987", "reservoir", "pumping station"):
        assert squash(word) in squash(pdf_text(pdf)), word
    for page in (0, 1):  # still dark text on light paper, the same page size
        before, after = rendered_lightness(report, page), rendered_lightness(pdf, page)
        assert abs(before[0] - after[0]) < 8, (page, before, after)
        assert before[1] == after[1]
