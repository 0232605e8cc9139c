"""Regenerate the sample scans in this folder (see README.md here).

Renders short text pages in English, Spanish and Simplified Chinese, then makes them look
scanned: a slight skew, speckle noise and, for the colour page, a paper tint. Seeded, so
every run writes the same pixels. Needs the DejaVu and Noto CJK fonts:

    apt-get install fonts-dejavu-core fonts-noto-cjk
    .venv/bin/python samples/make_samples.py
"""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime
from pathlib import Path

import img2pdf
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFilter, ImageFont

HERE = Path(__file__).resolve().parent
DPI = 200
# A5 portrait at 200 dpi: small enough for quick OCR, large enough to look like a page.
PAGE = (1165, 1654)
LATIN = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"
CJK = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"
CJK_SC_INDEX = 2  # the .ttc holds JP, KR, SC, TC, HK faces; index 2 is Simplified Chinese

ENGLISH = [
    (
        "Harbour Office Archive",
        "Letter of 14 March 1962 from the harbour master to the town council about the "
        "repair of the north pier. The invoice for timber and iron is attached to this "
        "letter and was paid in full by the treasurer.",
    ),
    (
        "Second page",
        "The council thanks the harbour master for the careful report. Work on the pier "
        "will begin in April, weather permitting, and the ferry will use the south quay.",
    ),
]
SPANISH = (
    "Biblioteca Municipal",
    "Nota del archivo: los periódicos antiguos de la biblioteca se digitalizarán este "
    "año. La señora Núñez coordinará la revisión de cada página escaneada.",
)
CHINESE = ("档案馆通知", "本馆将于下周开始整理旧报纸。请读者提前预约查阅时间。谢谢合作。")
REPORT = [
    (
        "Annual Report 1987",
        "The water board reports that the reservoir held enough water for the whole "
        "summer. Maintenance of the pumping station was completed on schedule.",
    ),
    (
        "Accounts",
        "Income from water rates rose by four percent. Expenses for electricity fell "
        "because the new pumps use less power than the old engines.",
    ),
]
MEMO_TEXT = "Memo typed on a computer: the digital copy of the minutes is attached."
MEMO_SCAN = ("Handwritten minutes", "Minutes of the meeting held in the library on Tuesday.")


def wrap(
    draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int
) -> list[str]:
    """Greedy line wrap by rendered width (CJK text has no spaces: wrap per character)."""
    units = text.split(" ") if " " in text else list(text)
    joiner = " " if " " in text else ""
    lines, line = [], ""
    for unit in units:
        candidate = f"{line}{joiner}{unit}" if line else unit
        if draw.textlength(candidate, font=font) <= width:
            line = candidate
        else:
            lines.append(line)
            line = unit
    return [*lines, line] if line else lines


def render(title: str, body: str, font_path: str, index: int = 0) -> Image.Image:
    page = Image.new("L", PAGE, 255)
    draw = ImageDraw.Draw(page)
    heading = ImageFont.truetype(font_path, 58, index=index)
    text = ImageFont.truetype(font_path, 40, index=index)
    margin, y = 110, 140
    draw.text((margin, y), title, font=heading, fill=0)
    y += 130
    for line in wrap(draw, body, text, PAGE[0] - 2 * margin):
        draw.text((margin, y), line, font=text, fill=0)
        y += 62
    return page


def scanned(page: Image.Image, rng: random.Random, skew: float) -> Image.Image:
    """Skew, soften and speckle a clean page the way a flatbed scanner would."""
    page = page.rotate(skew, resample=Image.Resampling.BICUBIC, fillcolor=255, expand=False)
    page = page.filter(ImageFilter.GaussianBlur(0.6))
    pixels = page.load()
    assert pixels is not None
    for _ in range(2500):  # sparse dust: keeps PNG/G4 files small, unlike full-page noise
        x, y = rng.randrange(PAGE[0]), rng.randrange(PAGE[1])
        pixels[x, y] = rng.randrange(0, 90)
    return page


def tinted(page: Image.Image) -> Image.Image:
    """Gray page -> RGB on yellowed paper."""
    paper = Image.new("RGB", page.size, (240, 232, 205))
    ink = Image.new("RGB", page.size, (35, 30, 25))
    return Image.composite(paper, ink, page)


def jpeg_bytes(page: Image.Image) -> bytes:
    buffer = io.BytesIO()
    page.save(buffer, "JPEG", quality=80, dpi=(DPI, DPI))
    return buffer.getvalue()


def main() -> None:
    rng = random.Random(1962)
    for folder in ("letters", "notices", "reports"):
        (HERE / folder).mkdir(exist_ok=True)

    # Multi-page TIFF, 1-bit CCITT G4 like an office scanner's default.
    letter = [
        scanned(render(t, b, LATIN), rng, skew).point(lambda v: 255 if v > 150 else 0)
        for (t, b), skew in zip(ENGLISH, (0.8, -0.6), strict=True)
    ]
    letter = [p.convert("1") for p in letter]
    letter[0].save(
        HERE / "letters" / "english-letter.tif",
        compression="group4",
        dpi=(DPI, DPI),
        save_all=True,
        append_images=letter[1:],
    )

    # PNG with no DPI (no pHYs chunk): scan2pdf must assume one.
    note = scanned(render(*SPANISH, LATIN), rng, -1.0)
    note.save(HERE / "letters" / "spanish-note.png", optimize=True)

    # Colour JPEG with a DPI, Simplified Chinese.
    notice = tinted(scanned(render(*CHINESE, CJK, CJK_SC_INDEX), rng, 0.5))
    (HERE / "notices" / "chinese-notice.jpg").write_bytes(jpeg_bytes(notice))

    # Scanned PDF, two image-only pages, no text layer.
    report = [
        jpeg_bytes(scanned(render(t, b, LATIN), rng, s))
        for (t, b), s in zip(REPORT, (0.4, 1.1), strict=True)
    ]
    (HERE / "reports" / "scanned-report.pdf").write_bytes(
        img2pdf.convert(report, nodate=True, engine=img2pdf.Engine.internal)
    )

    # A PDF that already has text on page 1 (born digital) and a scan on page 2.
    memo = FPDF(unit="pt", format=(PAGE[0] * 72 / DPI, PAGE[1] * 72 / DPI))
    memo.set_creation_date(datetime(2024, 1, 1, tzinfo=UTC))  # reproducible bytes
    memo.add_font("DejaVuSerif", fname=LATIN)
    memo.add_page()
    memo.set_font("DejaVuSerif", size=14)
    memo.set_xy(40, 50)
    memo.multi_cell(w=0, h=20, text=MEMO_TEXT)
    memo.add_page()
    scan = io.BytesIO(jpeg_bytes(scanned(render(*MEMO_SCAN, LATIN), rng, -0.7)))
    memo.image(scan, x=0, y=0, w=memo.w, h=memo.h)
    memo.output(str(HERE / "reports" / "digital-memo.pdf"))


if __name__ == "__main__":
    main()
