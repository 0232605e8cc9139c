"""Image preflight: every kind of image people have becomes a correct searchable page.

Each input is made here from a clean text page, converted once with real Tesseract, and
checked for its text, its page count, how it looks (not inverted, upright) and the note
the report gives about what preflight did.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont, ImageOps

from .conftest import Run, run_scan2pdf
from .helpers import FONT, pdf_pages, pdf_text, rendered_lightness, squash

LIGHT_ON_CLEAR = (
    "light content on a transparent background: shown as it looks on white, "
    "read from an inverted copy"
)
TEXT = "Preflight keeps scans legible"


def page(size: tuple[int, int] = (1400, 420), ink: int = 0, paper: int = 255) -> Image.Image:
    image = Image.new("L", size, paper)
    try:
        font: ImageFont.FreeTypeFont | ImageFont.ImageFont = ImageFont.truetype(FONT, 64)
    except OSError:
        font = ImageFont.load_default(64)
    ImageDraw.Draw(image).text((60, 160), TEXT, font=font, fill=ink)
    return image


def on_transparent(ink: tuple[int, int, int]) -> Image.Image:
    """Text in colour ``ink`` on a fully transparent background (RGB under it: black)."""
    mask = ImageOps.invert(page())
    image = Image.new("RGBA", mask.size, (0, 0, 0, 0))
    image.paste(Image.new("RGBA", mask.size, (*ink, 255)), mask=mask)
    return image


def white_on_clear(path: Path) -> None:
    on_transparent((255, 255, 255)).save(path, dpi=(300, 300))


def black_on_clear(path: Path) -> None:
    on_transparent((0, 0, 0)).save(path, dpi=(300, 300))


def la_frames(path: Path) -> None:
    frames = [page().convert("LA"), page().convert("LA")]
    for frame in frames:
        frame.putalpha(ImageOps.invert(page()))  # only the text is opaque
    frames[0].save(path, save_all=True, append_images=frames[1:], compression="tiff_deflate")


def exif_rotated(path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display": stored turned the other way
    page().convert("RGB").rotate(90, expand=True).save(path, exif=exif.tobytes(), dpi=(300, 300))


def exif_rotated_png(late: bool) -> Callable[[Path], None]:
    """A PNG turned by EXIF; ``late`` moves its eXIf chunk after the image data, where a
    PNG may also keep it (and where Pillow only finds it by decoding the image)."""

    def make(path: Path) -> None:
        exif_rotated(path.with_suffix(".tmp.png"))
        data = path.with_suffix(".tmp.png").read_bytes()
        path.with_suffix(".tmp.png").unlink()
        chunks, at = [], 8
        while at < len(data):
            length = int.from_bytes(data[at : at + 4], "big")
            chunks.append(data[at : at + 12 + length])
            at += 12 + length
        assert any(c[4:8] == b"eXIf" for c in chunks)
        if late:
            exif = [c for c in chunks if c[4:8] == b"eXIf"]
            chunks = [c for c in chunks if c[4:8] != b"eXIf"]
            chunks[-1:-1] = exif  # just before IEND
        path.write_bytes(data[:8] + b"".join(chunks))

    return make


def cmyk_jpeg(path: Path) -> None:
    page().convert("CMYK").save(path, "JPEG", dpi=(300, 300))


CMYK_PROFILE = Path("/usr/share/color/icc/ghostscript/default_cmyk.icc")  # ships with Ghostscript


def cmyk_with_profile(rotated: bool) -> Callable[[Path], None]:
    """A CMYK JPEG that carries an ICC profile; rotated ones take the Pillow path."""

    def make(path: Path) -> None:
        image = page().convert("CMYK")
        kwargs: dict[str, object] = {"icc_profile": CMYK_PROFILE.read_bytes(), "dpi": (300, 300)}
        if rotated:
            exif = Image.Exif()
            exif[0x0112] = 6
            image = image.rotate(90, expand=True)
            kwargs["exif"] = exif.tobytes()
        image.save(path, "JPEG", **kwargs)

    return make


def jpeg_in_tiff(path: Path) -> None:
    page().convert("RGB").save(path, "TIFF", compression="jpeg", dpi=(300, 300))


def mixed_frames(path: Path) -> None:
    """Three frames that differ in mode and size: gray, RGBA, 1-bit at half size."""
    rgba = on_transparent((20, 20, 120))
    small = page().resize((700, 210)).convert("1")
    page().save(path, "TIFF", save_all=True, append_images=[rgba, small], dpi=(300, 300))


def gray16(fmt: str) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        wide = page().convert("I").point(lambda v: v * 257)  # 0..65535, full 16-bit range
        wide.convert("I;16").save(path, fmt, dpi=(300, 300))

    return make


def palette_transparent(path: Path) -> None:
    image = page().convert("P")
    image.info["transparency"] = 255  # the paper colour is see-through
    image.save(path, transparency=255)


def gif_frames(path: Path) -> None:
    frames = [page().convert("P"), page(paper=250).convert("P")]
    frames[0].save(path, save_all=True, append_images=frames[1:])


def saved_as(fmt: str, mode: str = "L") -> Callable[[Path], None]:
    return lambda path: page().convert(mode).save(path, fmt)


def non_square(path: Path) -> None:
    squashed = page().resize((1400, 210))  # 300 dpi across, 150 dpi down
    squashed.save(path, dpi=(300, 150))


def a4_without_dpi(path: Path) -> None:
    sheet = Image.new("L", (2480, 3508), 255)  # an A4 page at 300 dpi
    sheet.paste(page(), (200, 300))
    sheet.save(path)


def says_72_dpi(path: Path) -> None:
    page().save(path, dpi=(72, 72))


@dataclass(frozen=True)
class Case:
    make: Callable[[Path], None]
    pages: int = 1
    notes: tuple[str, ...] = ()
    landscape: bool = True  # the text line runs across a wide page


CASES: dict[str, Case] = {
    "white-on-clear.png": Case(
        white_on_clear,
        notes=(LIGHT_ON_CLEAR,),
    ),
    "black-on-clear.png": Case(black_on_clear, notes=("transparency flattened onto white",)),
    "gray-alpha-frames.tiff": Case(
        la_frames,
        pages=2,
        notes=(
            "transparency flattened onto white",
            "300 dpi assumed; the image says 1 dpi (see --image-dpi)",
        ),
    ),
    "phone-photo.jpg": Case(exif_rotated, notes=("EXIF orientation applied",)),
    "phone-photo.png": Case(exif_rotated_png(late=False), notes=("EXIF orientation applied",)),
    "phone-photo-late-exif.png": Case(
        exif_rotated_png(late=True), notes=("EXIF orientation applied",)
    ),
    "cmyk.jpg": Case(cmyk_jpeg),
    "cmyk-profile.jpg": Case(cmyk_with_profile(rotated=False)),
    "cmyk-profile-rotated.jpg": Case(
        cmyk_with_profile(rotated=True), notes=("EXIF orientation applied",)
    ),
    "jpeg-in.tif": Case(jpeg_in_tiff),
    "mixed-frames.tif": Case(mixed_frames, pages=3, notes=("transparency flattened onto white",)),
    "gray16.png": Case(gray16("PNG")),
    "gray16.tif": Case(gray16("TIFF")),
    "palette-clear.png": Case(
        palette_transparent,
        notes=(
            "transparency flattened onto white",
            "300 dpi assumed; the image has no DPI (see --image-dpi)",
        ),
    ),
    "two-frames.gif": Case(gif_frames, pages=2),
    "page.webp": Case(saved_as("WEBP", "RGB")),
    "page.pbm": Case(saved_as("PPM", "1")),
    "page.bmp": Case(saved_as("BMP")),
    "squashed.tif": Case(non_square, notes=("resampled from 300x150 dpi to square pixels",)),
    "a4-no-dpi.png": Case(
        a4_without_dpi,
        landscape=False,
        notes=("300 dpi assumed from the page size (A4); the image has no DPI",),
    ),
    "says-72.png": Case(
        says_72_dpi, notes=("300 dpi assumed; the image says 72 dpi (see --image-dpi)",)
    ),
}
FALLBACK_NOTE = "300 dpi assumed; the image has no DPI (see --image-dpi)"


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Run]:
    base = tmp_path_factory.mktemp("images")
    src = base / "in"
    src.mkdir()
    for name, case in CASES.items():
        case.make(src / name)
    return base / "out", run_scan2pdf(
        "convert", src, "-o", base / "out", report=base / "report.jsonl"
    )


@pytest.mark.parametrize("name", sorted(CASES))
def test_image_kind_is_converted_correctly(converted: tuple[Path, Run], name: str) -> None:
    _, run = converted
    case, row = CASES[name], run.by_name()[name]
    assert (row["status"], row["pages"], row["ocr_pages"]) == ("converted", case.pages, case.pages)
    expected_notes = list(case.notes)
    if name.endswith((".gif", ".webp", ".pbm")):
        expected_notes = [FALLBACK_NOTE]  # these formats carry no DPI
    if name.endswith(".bmp"):  # Pillow writes BMPs at 96 dpi: not credible
        expected_notes = ["300 dpi assumed; the image says 96 dpi (see --image-dpi)"]
    assert row["notes"] == expected_notes
    pdf = Path(str(row["output"]))
    assert pdf_pages(pdf) == case.pages
    sidecar = Path(str(row["sidecar"])).read_text(encoding="utf-8").split("\f")
    for number in range(case.pages):
        assert squash(TEXT) in squash(sidecar[number]), (name, number)
    assert squash(TEXT) in squash(pdf_text(pdf))
    lightness, (width, height) = rendered_lightness(pdf)
    assert lightness > 200, "dark text on a light page, not inverted or blacked out"
    assert (width > height) == case.landscape, "upright, as the image is meant to be seen"


def test_page_sizes_follow_the_dpi(converted: tuple[Path, Run]) -> None:
    out, _ = converted
    from pypdf import PdfReader

    def inches(name: str) -> tuple[float, float]:
        box = PdfReader(out / name).pages[0].mediabox
        return round(float(box.width) / 72, 2), round(float(box.height) / 72, 2)

    assert inches("a4-no-dpi.pdf") == (8.27, 11.69)
    assert inches("squashed.pdf") == (4.67, 1.4)  # 1400x210 px at 300x150 dpi
    assert inches("cmyk.pdf") == (4.67, 1.4)
    # Each frame its own page size: the third frame is half as large.
    reader = PdfReader(out / "mixed-frames.pdf")
    sizes = [
        (round(float(p.mediabox.width)), round(float(p.mediabox.height))) for p in reader.pages
    ]
    assert sizes == [(336, 101), (336, 101), (168, 50)]


def png_bomb(path: Path, width: int, height: int) -> None:
    """A tiny PNG whose header claims a gigantic image."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = zlib.compress(b"\x00" * 1024)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )


def test_oversized_images_are_refused_before_decoding(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    Image.new("1", (40000, 30000), 1).save(src / "gigapixel.tif", compression="group4")
    png_bomb(src / "bomb.png", 100_000, 100_000)
    page().save(src / "fine.png", dpi=(300, 300))
    run = run_scan2pdf("convert", src, "-o", tmp_path / "out", report=tmp_path / "r.jsonl")
    rows = run.by_name()
    assert run.returncode == 1
    assert rows["fine.png"]["status"] == "converted"
    assert (rows["gigapixel.tif"]["status"], rows["gigapixel.tif"]["reason"]) == (
        "failed",
        "too_large",
    )
    assert rows["gigapixel.tif"]["message"] == (
        "The image has 1,200 megapixels (40000x30000), more than the budget of 250. "
        "Raise --max-image-mpixels if this machine has the memory for it, "
        "or split or downsample the image first."
    )
    assert rows["bomb.png"]["reason"] == "too_large"


def test_fine_scans_are_ocred_at_the_max_ocr_dpi_and_kept_as_scanned(tmp_path: Path) -> None:
    """A 1200 dpi scan: Tesseract reads a 600 dpi copy (said in the notes), the PDF keeps
    every pixel of the scan, and the text is found."""
    import pikepdf

    from scan2pdf import convert_file

    page = Image.new("L", (4800, 1200), 255)
    font = ImageFont.truetype(FONT, 110)
    ImageDraw.Draw(page).text((100, 500), "Scanned at twelve hundred dpi", font=font, fill=0)
    page.save(tmp_path / "fine.png", dpi=(1200, 1200))

    result = convert_file(tmp_path / "fine.png", tmp_path / "out", index=False)
    uncapped = convert_file(tmp_path / "fine.png", tmp_path / "raw", max_ocr_dpi=4800, index=False)

    assert result.status == uncapped.status == "converted"
    assert result.output is not None and result.sidecar is not None
    assert "OCRed at 600 dpi from a 1200 dpi scan (--max-ocr-dpi)" in " ".join(result.notes)
    assert not any("--max-ocr-dpi" in note for note in uncapped.notes)
    assert "twelvehundreddpi" in squash(result.sidecar.read_text())
    with pikepdf.open(result.output) as pdf:
        xobjects = pdf.pages[0].Resources.XObject
        images = [xobjects[name] for name in xobjects.keys()]  # noqa: SIM118 - pikepdf
        sizes = [(int(i.Width), int(i.Height)) for i in images if i.Subtype == "/Image"]
        assert sizes == [(4800, 1200)]


def test_an_oversized_image_in_a_pdf_is_refused_with_the_budget_that_applied(
    tmp_path: Path,
) -> None:
    import img2pdf

    page(size=(3000, 1000)).save(tmp_path / "wide.png", dpi=(300, 300))
    (tmp_path / "wide.pdf").write_bytes(img2pdf.convert(str(tmp_path / "wide.png")))
    run = run_scan2pdf(
        "convert",
        tmp_path / "wide.pdf",
        "-o",
        tmp_path / "out",
        "--max-image-mpixels",
        "1",
        report=tmp_path / "r.jsonl",
    )
    assert (run.returncode, run.report[0]["reason"]) == (1, "too_large")
    assert run.report[0]["message"] == (
        "An image in the PDF has 3 megapixels, more than the budget of 1 megapixels. "
        "Raise --max-image-mpixels if this machine has the memory for it, "
        "or split or downsample the image first."
    )


def test_a_light_illustration_on_transparency_keeps_its_colours(tmp_path: Path) -> None:
    """Shown as it looks on white, never as its negative; its text still read."""
    art = Image.new("RGBA", (1400, 700), (0, 0, 0, 0))
    draw = ImageDraw.Draw(art)
    draw.ellipse((100, 60, 600, 560), fill=(255, 230, 120, 255))  # a pale yellow sun
    draw.rectangle((800, 100, 1300, 500), fill=(170, 210, 255, 255))  # a light blue sky
    font = ImageFont.truetype(FONT, 64)
    draw.text((60, 600), TEXT, font=font, fill=(250, 250, 250, 255))  # white caption
    art.save(tmp_path / "poster.png", dpi=(300, 300))
    run = run_scan2pdf(
        "convert", tmp_path / "poster.png", "-o", tmp_path / "out", report=tmp_path / "r.jsonl"
    )
    assert run.returncode == 0, run.stderr
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(tmp_path / "out" / "poster.pdf"))
    shown = document[0].render(scale=0.5).to_pil().convert("RGB").resize(art.size)
    document.close()
    on_white = Image.alpha_composite(Image.new("RGBA", art.size, "white"), art).convert("RGB")
    for point in ((350, 310), (1050, 300), (700, 50)):  # sun, sky, background
        got, want = shown.getpixel(point), on_white.getpixel(point)
        assert all(abs(g - w) < 30 for g, w in zip(got, want, strict=True)), (point, got, want)
    assert squash(TEXT) in squash((tmp_path / "out" / "poster.txt").read_text())


def test_light_text_on_transparency_scanned_sideways_comes_out_upright(tmp_path: Path) -> None:
    """Its OCR image is a twin (the page as it looks on white); turned upright in the page's
    task, the twin is turned the same way as the page (OCRmyPDF's raster rotation counts
    counter-clockwise): read upside down before, "'JoInsesd} ayy Aq" for "by the treasurer"."""
    art = Image.new("RGBA", (1700, 1000), (0, 0, 0, 0))
    draw = ImageDraw.Draw(art)
    font = ImageFont.truetype(FONT, 56)
    for line in range(6):
        draw.text((60, 60 + 150 * line), TEXT, font=font, fill=(250, 250, 250, 255))
    art.rotate(-90, expand=True).save(tmp_path / "sideways.png", dpi=(300, 300))
    run = run_scan2pdf(
        "convert", tmp_path / "sideways.png", "-o", tmp_path / "out", report=tmp_path / "r.jsonl"
    )
    assert run.returncode == 0, run.stderr
    assert any("turned 270°" in str(n) for n in run.report[0]["notes"]), run.report[0]["notes"]
    assert squash(TEXT) in squash((tmp_path / "out" / "sideways.txt").read_text())
