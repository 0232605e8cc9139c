"""Images -> one PDF that OCRmyPDF accepts, every frame upright, opaque, 8-bit and sized right.

Two paths, chosen per file:

- *Direct*: frames img2pdf embeds faithfully (8-bit 1/L/RGB/CMYK/P, no alpha, no EXIF
  rotation, square pixels) are embedded as they are, without re-encoding. Only the page
  size is ours: a layout function gives each frame its DPI (``choose_dpi``).
- *Normalised*: anything else is decoded frame by frame with Pillow and written as a
  lossless PNG first: EXIF orientation applied, 16-bit scaled (not clipped) to 8-bit,
  CMYK converted through its ICC profile, alpha flattened so text stays legible whatever
  its colour, non-square pixels resampled.

OCRmyPDF alone refuses images with alpha and images without a DPI, and its result on a
light-on-transparent image depends on what the renderer composites it onto.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import img2pdf
from PIL import Image, ImageCms, ImageOps, ImageSequence, ImageStat

from scan2pdf.core.pillowguard import open_header
from scan2pdf.errors import CorruptInputError, TooLargeError, first_line
from scan2pdf.worker.widetiff import is_tiff, wide_tiff_frames

# A DPI at or below this is what software writes when it does not know (72 or 96), not
# what a scanner measured; trusting it would make Tesseract see tiny text.
IMPLAUSIBLE_DPI = 96.0
# (name, short side, long side) in inches: an image with one of these aspect ratios is
# taken to be a whole page of that size.
PAGE_SIZES = (("A4", 8.27, 11.69), ("Letter", 8.5, 11.0), ("Legal", 8.5, 14.0))
_PAGE_RATIO_TOLERANCE = 0.03
_PAGE_DPI_RANGE = (150, 1200)  # estimates outside this are not believable scan resolutions
# Modes img2pdf embeds as they are (for P only without transparency).
_DIRECT_MODES = frozenset({"1", "L", "RGB", "CMYK", "P"})
_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "La", "RGBa"})
# Below this share of see-through pixels an alpha channel is decoration (a scanner that
# writes RGBA, fully opaque): flatten onto white, never invert.
_TRANSPARENT_SHARE = 0.05

LayoutFun = Callable[[int, int, tuple[float, float]], tuple[float, float, float, float]]


@dataclass
class ImagePdf:
    pages: int
    notes: list[str] = field(default_factory=list)
    # 1-based page -> the image OCR should read instead of the page as shown: light
    # content on a transparent background, shown as it looks on white (_flatten).
    ocr_twins: dict[int, Path] = field(default_factory=dict)


def set_pixel_budget(max_mpixels: float) -> None:
    """Pillow refuses to decode more than twice this (its decompression-bomb guard).

    The guard is one setting for the whole process: a Dask worker's files, converted at
    once in its threads, each set it to their run's budget, the value OCRmyPDF itself sets
    at each ``ocr()``. Nothing turns it off meanwhile (headers are read past it,
    ``pillowguard.open_header``). Each file's own budget is ``_check_budget``'s, from the
    header, before a pixel is decoded.
    """
    Image.MAX_IMAGE_PIXELS = int(max_mpixels * 1_000_000)


def credible_dpi(dpi: tuple[float, float] | None) -> float | None:
    """The image's DPI if a scanner could plausibly have written it, else None."""
    if not dpi:
        return None
    # Rounded: BMP and PNG store pixels per metre, so 96 dpi reads back as 96.01.
    x, y = round(float(dpi[0])), round(float(dpi[1]))
    if x <= IMPLAUSIBLE_DPI or y <= IMPLAUSIBLE_DPI or abs(x - y) > 1:
        return None
    return float(x)


def choose_dpi(
    width: int, height: int, dpi: tuple[float, float] | None, fallback: int
) -> tuple[float, str | None]:
    """The DPI to use for a frame, and a note for the report when it was not the image's."""
    found = credible_dpi(dpi)
    if found:
        return found, None
    said = "has no DPI" if not dpi else f"says {_format_dpi(dpi)} dpi"
    short, long = sorted((width, height))
    for name, short_in, long_in in PAGE_SIZES:
        if short and abs(long / short - long_in / short_in) <= _PAGE_RATIO_TOLERANCE:
            estimate = round(short / short_in)
            if _PAGE_DPI_RANGE[0] <= estimate <= _PAGE_DPI_RANGE[1]:
                note = f"{estimate} dpi assumed from the page size ({name}); the image {said}"
                return float(estimate), note
    return float(fallback), f"{fallback} dpi assumed; the image {said} (see --image-dpi)"


def image_to_pdf(source: Path, target: Path, fallback_dpi: int, max_mpixels: float) -> ImagePdf:
    """Write ``source`` (any image Pillow reads, all its frames) as a PDF at ``target``."""
    try:
        # The header read past Pillow's guard, which stays on for every other thread:
        # _check_budget refuses from it, more clearly. img2pdf's own opens are guarded.
        with open_header(source) as image:
            pages = getattr(image, "n_frames", 1)
            _check_budget(image, max_mpixels)
            notes: list[str] = []
            twins: dict[int, Image.Image] = {}
            if all(_embeddable(frame) for frame in ImageSequence.Iterator(image)):
                dpis = [_frame_dpi(f, fallback_dpi, notes) for f in ImageSequence.Iterator(image)]
                data = bytes(img2pdf.convert(str(source), layout_fun=_in_order(dpis)))
            else:
                data = _frames_to_pdf(ImageSequence.Iterator(image), fallback_dpi, notes, twins)
    except Image.DecompressionBombError as exc:  # a frame the header did not announce
        raise TooLargeError(
            f"A frame of the image is over the budget of {max_mpixels:g} megapixels."
        ) from exc
    except (OSError, SyntaxError, ValueError, img2pdf.ImageOpenError) as exc:
        # A TIFF layout Pillow does not decode (planar 16-bit colour, 16-bit gray with
        # alpha): tifffile's turn, before calling it damaged.
        wide = wide_tiff_frames(source, max_mpixels) if is_tiff(source) else None
        if wide is None:
            raise CorruptInputError(f"The image cannot be decoded ({first_line(exc)}).") from exc
        notes, twins = ["decoded with tifffile (a TIFF layout Pillow does not read)"], {}
        pages, data = len(wide), _frames_to_pdf(wide, fallback_dpi, notes, twins)
    target.write_bytes(data)
    saved = {}
    for number, twin in twins.items():
        saved[number] = target.with_name(f"{target.stem}-ocr-{number}.png")
        twin.save(saved[number])
    return ImagePdf(pages, _dedupe(notes), saved)


def _check_budget(image: Image.Image, max_mpixels: float) -> None:
    """Refuse from the header alone, before a single pixel is decoded."""
    for frame in ImageSequence.Iterator(image):
        mpixels = frame.width * frame.height / 1_000_000
        if mpixels > max_mpixels:
            raise TooLargeError(
                f"The image has {mpixels:,.0f} megapixels ({frame.width}x{frame.height}), "
                f"more than the budget of {max_mpixels:g}.",
            )


def _embeddable(frame: Image.Image) -> bool:
    if frame.mode not in _DIRECT_MODES or "transparency" in frame.info:
        return False
    # Pillow reads a 48-bit TIFF as 8-bit RGB, but img2pdf embeds the file's own samples
    # and refuses more than 8 bits: such frames go through Pillow's decoding instead.
    bits = getattr(frame, "tag_v2", {}).get(258, (8,))
    if max(bits if isinstance(bits, tuple) else (bits,)) > 8:
        return False
    if _orientation(frame) != 1:
        return False
    dpi = frame.info.get("dpi")
    return not (dpi and _non_square(dpi))


def _orientation(frame: Image.Image) -> int:
    """The EXIF Orientation tag, without decoding pixels just to look for it.

    A PNG may keep its EXIF (an eXIf chunk) after the image data, so Pillow 11-13's
    ``getexif()`` decodes the whole image when the chunk was not met in the header. For a
    large scan that is seconds and hundreds of MB spent on a tag almost no PNG has; the
    chunk headers say whether it is there.
    """
    if frame.format == "PNG" and "exif" not in frame.info and not _png_has_exif(frame):
        return 1
    return int(frame.getexif().get(0x0112, 1))


def _png_has_exif(image: Image.Image) -> bool:
    """Whether the PNG's chunk list has an eXIf chunk (reads 8 bytes per chunk)."""
    filename = getattr(image, "filename", None)  # set by Image.open on a path
    if not isinstance(filename, str) or not filename:
        return True  # not a file we can walk: let Pillow look
    with open(filename, "rb") as png:
        png.seek(8)  # the signature
        while len(head := png.read(8)) == 8:
            length, kind = int.from_bytes(head[:4], "big"), head[4:]
            if kind == b"eXIf":
                return True
            if kind == b"IEND":
                return False
            png.seek(length + 4, io.SEEK_CUR)  # data and CRC
    return False


def _frame_dpi(frame: Image.Image, fallback_dpi: int, notes: list[str]) -> float:
    dpi, note = choose_dpi(frame.width, frame.height, frame.info.get("dpi"), fallback_dpi)
    if note:
        notes.append(note)
    return dpi


def _in_order(dpis: list[float]) -> LayoutFun:
    """img2pdf layout: each frame's page size from the DPI we chose for it, in frame order.

    img2pdf calls it once per frame, in order. Its own ``ndpi`` argument is not used: it
    reports a missing DPI as 96, indistinguishable from a real one.
    """
    sizes = iter(dpis)

    def layout(
        width: int, height: int, ndpi: tuple[float, float]
    ) -> tuple[float, float, float, float]:
        dpi = next(sizes)
        width_pt, height_pt = width * 72.0 / dpi, height * 72.0 / dpi
        return width_pt, height_pt, width_pt, height_pt

    return layout


def _frames_to_pdf(
    images: Iterable[Image.Image],
    fallback_dpi: int,
    notes: list[str],
    twins: dict[int, Image.Image],
) -> bytes:
    """The normalised path: every frame through Pillow into a lossless PNG, then img2pdf.

    ``twins`` gains, by 1-based page, the images OCR should read instead (``_flatten``)."""
    frames: list[bytes] = []
    dpis: list[float] = []
    for number, raw in enumerate(images, start=1):
        frame, dpi, twin = _normalise(raw, fallback_dpi, notes)
        if twin is not None:
            twins[number] = twin
        buffer = io.BytesIO()
        frame.save(buffer, "PNG")
        frames.append(buffer.getvalue())
        dpis.append(dpi)
    return bytes(img2pdf.convert(frames, layout_fun=_in_order(dpis)))


def _normalise(
    frame: Image.Image, fallback_dpi: int, notes: list[str]
) -> tuple[Image.Image, float, Image.Image | None]:
    dpi_info = frame.info.get("dpi")
    if frame.getexif().get(0x0112, 1) != 1:
        notes.append("EXIF orientation applied")
    upright = ImageOps.exif_transpose(frame) or frame
    flat = _to_8bit(upright)
    twin: Image.Image | None = None
    if flat.mode in _ALPHA_MODES or "transparency" in flat.info:
        flat, twin = _flatten(flat, notes)
    elif flat.mode == "CMYK":
        flat = _cmyk_to_rgb(flat)
    elif flat.mode not in ("1", "L", "RGB"):
        flat = flat.convert("RGB")
    if dpi_info and _non_square(dpi_info) and min(dpi_info) > IMPLAUSIBLE_DPI:
        x, y = float(dpi_info[0]), float(dpi_info[1])
        target = max(x, y)
        size = (round(flat.width * target / x), round(flat.height * target / y))
        flat = flat.resize(size)
        twin = twin.resize(size) if twin is not None else None
        notes.append(f"resampled from {_format_dpi(dpi_info)} dpi to square pixels")
        return flat, target, twin
    flat.info["dpi"] = dpi_info
    return flat, _frame_dpi(flat, fallback_dpi, notes), twin


def _to_8bit(frame: Image.Image) -> Image.Image:
    """16-bit and 32-bit grey to 8-bit by scaling; Pillow's convert("L") would clip."""
    if frame.mode.startswith("I;16") or frame.mode == "I":
        wide = frame.convert("I") if frame.mode != "I" else frame
        return wide.point(lambda v: v * (1 / 256)).convert("L")
    if frame.mode == "F":
        low, high = cast(tuple[float, float], frame.getextrema())
        scale = 255.0 / (high - low) if high > low else 1.0
        return frame.point(lambda v: (v - low) * scale).convert("L")
    return frame


def _flatten(frame: Image.Image, notes: list[str]) -> tuple[Image.Image, Image.Image | None]:
    """Remove alpha: the page as it looks on white, and, where OCR cannot read that, the
    image it reads instead.

    Flattening onto white hides white or light text drawn on a transparent background.
    The page still shows it so (that is how it looks on paper, and a colour illustration
    must never come out as its negative), but where a real share of the image is
    see-through and what is drawn is light, OCR reads a twin: flattened onto black and
    inverted, dark on white, pixel for pixel the same size (``worker/rasterize.py``).
    """
    rgba = frame.convert("RGBA")
    alpha = rgba.getchannel("A")
    drawn = alpha.point(lambda a: 255 if a >= 128 else 0)
    see_through = 1.0 - ImageStat.Stat(drawn).mean[0] / 255.0
    light_ink = False
    if see_through >= _TRANSPARENT_SHARE and see_through < 1.0:
        ink = ImageStat.Stat(rgba.convert("L"), mask=drawn).mean[0]
        light_ink = ink > 127
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    flat = Image.alpha_composite(white, rgba).convert("RGB")
    if not light_ink:
        notes.append("transparency flattened onto white")
        return flat, None
    black = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
    twin = ImageOps.invert(Image.alpha_composite(black, rgba).convert("RGB"))
    notes.append(
        "light content on a transparent background: shown as it looks on white, "
        "read from an inverted copy"
    )
    return flat, twin


def _cmyk_to_rgb(frame: Image.Image) -> Image.Image:
    icc = frame.info.get("icc_profile")
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(
                frame, source, ImageCms.createProfile("sRGB"), outputMode="RGB"
            )
            if converted is not None:
                return converted
        except (ImageCms.PyCMSError, OSError):
            pass  # a broken profile: fall back to Pillow's plain conversion
    return frame.convert("RGB")


def _non_square(dpi: tuple[float, float]) -> bool:
    return abs(float(dpi[0]) - float(dpi[1])) > 1


def _format_dpi(dpi: tuple[float, float]) -> str:
    x, y = round(float(dpi[0])), round(float(dpi[1]))
    return f"{x}" if x == y else f"{x}x{y}"


def _dedupe(notes: list[str]) -> list[str]:
    return list(dict.fromkeys(notes))
