"""An OCRmyPDF plugin: the OCR image of a scanned page is its scan, not a re-rendering of it.

OCRmyPDF 17.x (checked against 17.13.0, ``_pipeline.rasterize``) renders every page it OCRs
with PDFium at the page's image resolution and writes that bitmap as a PNG for Tesseract.
For a page that is nothing but one scan placed over the whole page - every page scan2pdf
makes from an image, and most scanned PDFs - that rendering reproduces the scan pixel for
pixel, at the price of compositing it and compressing a full-page PNG at zlib level 6.
Measured on the benchmark's mixed batch (2026-11-21) that was the largest piece of work
outside Tesseract: about 0.13 s of CPU per page.

For such pages this hook decodes the scan straight from the PDF and writes it as an
uncompressed TIFF. OCRmyPDF names the file ``rasterize.png``, but nothing downstream goes by
the name: Pillow (OCRmyPDF's ``create_ocr_image``) and Leptonica (Tesseract) both identify
an image by its first bytes. The file is read once, by Tesseract, moments later, and is
deleted with OCRmyPDF's temporary folder, so compressing it is wasted work: even at zlib
level 1 Pillow's PNG encoder spends 20-50 ms per page choosing row filters, against 2 ms
for raw TIFF (measured 2026-11-21).

Anything else - more than one image, vector content, annotations, masks, decode arrays,
indexed or CMYK or ICC colour, rotation, a resolution that would need resampling - returns
None, and OCRmyPDF's own rasteriser runs as before.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pikepdf
from ocrmypdf import hookimpl
from PIL import Image

from scan2pdf.worker.ocrengine import making_turn

# OCRmyPDF's raster device for the page -> the Pillow mode of a scan it may take as is.
_DEVICE_MODES = {"pngmonod": "1", "pngmono": "1", "pnggray": "L", "png16m": "RGB"}
_COLOURSPACES = {"/DeviceGray", "/DeviceRGB"}
_FILTERS: tuple[list[str], ...] = ([], ["/FlateDecode"], ["/DCTDecode"], ["/CCITTFaxDecode"])
# Operators that set graphics state without painting or moving anything; PDF writers
# often open a page with a few (fpdf2 and ReportLab write "J" and "w").
_HARMLESS = frozenset(
    {"J", "j", "w", "M", "d", "ri", "i", "g", "G", "rg", "RG", "k", "K"}
    | {"cs", "CS", "sc", "SC", "scn", "SCN"}
)
# Points of slack when comparing the image's placement with the page's MediaBox.
_PLACEMENT_SLACK = 0.01
# The ocr() keyword that maps pages (1-based, as strings) to the image OCR reads instead
# of the page (worker/images.py: light content on transparency, shown as on white).
TWINS_KEYWORD = "scan2pdf_ocr_twins"
# Pixels of slack between the scan's size and the raster OCRmyPDF expects (the same
# tolerance its PDFium rasteriser applies to rounding).
_SIZE_SLACK = 2


@hookimpl(tryfirst=True)
def rasterize_pdf_page(
    input_file: Path,
    output_file: Path,
    raster_device: str,
    raster_dpi: Any,
    pageno: int,
    page_dpi: Any,
    rotation: int | None,
    filter_vector: bool,
    use_cropbox: bool,
    options: Any = None,
) -> Path | None:
    """Write the page's scan as the OCR image when that is what rendering would produce.

    Tried before OCRmyPDF's own rasterisers (``tryfirst``); returning None hands the page
    to them. pluggy passes only the hook arguments named here.
    """
    if making_turn() and output_file.name.endswith("rasterize_preview.jpg"):
        # The preview OCRmyPDF draws for the orientation it asks of the engine, while a
        # page task runs again to make a turn already decided (worker/ocrengine.py): the
        # answer does not look at it. A 300 dpi render for nothing, otherwise.
        Image.new("L", (1, 1), 255).save(output_file, format="JPEG")
        return output_file
    device = str(getattr(raster_device, "value", raster_device)).lower()
    twins = getattr(options, TWINS_KEYWORD, None) if options is not None else None
    twin = Path(twins[str(pageno)]) if twins and str(pageno) in twins else None
    if twin is None and (rotation or filter_vector or use_cropbox):
        return None
    mode = _DEVICE_MODES.get(device)
    if twin is None and mode is None:
        return None
    with pikepdf.open(input_file) as pdf:
        page = pdf.pages[pageno - 1]
        box = [float(v) for v in page.mediabox]
        image = sole_page_scan(page) if twin is None else None
    width = round((box[2] - box[0]) * float(raster_dpi.x) / 72)
    height = round((box[3] - box[1]) * float(raster_dpi.y) / 72)
    if twin is not None:
        image = _twin_raster(twin, device, (width, height), rotation)
    elif image is None or image.mode != mode:
        return None
    elif abs(image.width - width) > _SIZE_SLACK or abs(image.height - height) > _SIZE_SLACK:
        return None  # the page would be resampled: leave that to OCRmyPDF's rasteriser
    elif image.size != (width, height):
        image = _fit(image, width, height)
    dpi = page_dpi or raster_dpi
    # Uncompressed, with the resolution Tesseract and OCRmyPDF read back (module docstring).
    image.save(output_file, format="TIFF", dpi=(float(dpi.x), float(dpi.y)))
    return output_file


def _twin_raster(
    twin: Path, device: str, size: tuple[int, int], rotation: int | None
) -> Image.Image:
    """The page's OCR twin, at the size, mode and orientation its raster would have."""
    with Image.open(twin) as opened:
        image = opened.convert("RGB" if device == "png16m" else "L")
    if image.size != size:
        image = image.resize(size)
    if rotation:
        # OCRmyPDF 17.13 counts its raster rotation counter-clockwise (its PDFium
        # rasteriser negates it for PDFium), as Image.rotate does.
        image = image.rotate(rotation, expand=True)
    return image.convert("1") if _DEVICE_MODES.get(device) == "1" else image


def sole_page_scan(page: pikepdf.Page) -> Image.Image | None:
    """The decoded image, when the page draws exactly one plain image over its MediaBox."""
    placed = scan_placement(page)
    if placed is None:
        return None
    xobject = page.obj.Resources.XObject[placed[0]]
    assert isinstance(xobject, pikepdf.Stream)  # scan_placement checked it
    if any(key in xobject for key in ("/SMask", "/Mask", "/Decode", "/ImageMask")):
        return None
    image = pikepdf.PdfImage(xobject)
    if str(image.colorspace) not in _COLOURSPACES or image.bits_per_component not in (1, 8):
        return None
    if list(image.filters) not in _FILTERS:  # pikepdf honours CCITT's BlackIs1 itself
        return None
    try:
        return image.as_pil_image()
    except (pikepdf.PdfError, NotImplementedError, OSError, ValueError):
        return None  # whatever pikepdf cannot hand over, PDFium still can render


def scan_placement(page: pikepdf.Page) -> tuple[str, int, int] | None:
    """(name, width, height in pixels) of the one image the page draws over its whole
    MediaBox and nothing else, unrotated and unannotated; None for any other page."""
    if page.obj.get("/Rotate", 0) or page.obj.get("/UserUnit", 1) != 1:
        return None
    if page.obj.get("/Annots"):
        return None
    resources = page.obj.get("/Resources", pikepdf.Dictionary())
    xobjects = resources.get("/XObject", pikepdf.Dictionary())
    if len(xobjects.keys()) != 1:
        return None
    name = next(iter(xobjects.keys()))
    xobject = xobjects[name]
    if not isinstance(xobject, pikepdf.Stream) or xobject.get("/Subtype") != "/Image":
        return None
    if not _fills(page, name):
        return None
    return str(name), int(xobject.Width), int(xobject.Height)


def _fills(page: pikepdf.Page, name: str) -> bool:
    """True when the content is ``q W 0 0 H X Y cm /name Do Q`` over the MediaBox (plus any
    state operators that paint nothing)."""
    try:
        parsed = pikepdf.parse_content_stream(page)
    except pikepdf.PdfError:
        return False
    instructions = [i for i in parsed if str(i.operator) not in _HARMLESS]
    ops = [str(instruction.operator) for instruction in instructions]
    if ops != ["q", "cm", "Do", "Q"] and ops != ["cm", "Do"]:
        return False
    matrix = [float(v) for v in instructions[ops.index("cm")].operands]
    if len(matrix) != 6:
        return False
    drawn = instructions[ops.index("Do")].operands[0]
    x0, y0, x1, y1 = (float(v) for v in page.mediabox)
    expected = [x1 - x0, 0.0, 0.0, y1 - y0, x0, y0]
    close = all(abs(a - b) <= _PLACEMENT_SLACK for a, b in zip(matrix, expected, strict=True))
    return close and str(drawn) == name


def _fit(image: Image.Image, width: int, height: int) -> Image.Image:
    """Crop or pad with white to the exact size (a pixel or two of rounding, never scaled)."""
    canvas = Image.new(image.mode, (width, height), 1 if image.mode == "1" else "white")
    canvas.paste(image, (0, 0))
    return canvas
