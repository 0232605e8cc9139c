"""Make an input acceptable to OCRmyPDF, or say precisely why it cannot be.

The output of preflight is always a PDF in the job's scratch folder (or the untouched
input PDF), so the engine has one kind of input. Inputs are only ever read.

- Images become a PDF through img2pdf, which embeds JPEG/PNG/TIFF data without
  re-encoding where it can. Each frame gets its own page size from its own DPI; a frame
  without a credible DPI gets ``Options.image_dpi``.
- Images img2pdf refuses (alpha channels, exotic modes) are normalised with Pillow into
  lossless PNG frames first.
- PDFs are opened with pikepdf to classify what OCRmyPDF would otherwise fail on late:
  damage, encryption. An encrypted PDF that opens without a password is decrypted into
  scratch, since OCRmyPDF refuses every encrypted input.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import img2pdf
import pikepdf
from PIL import Image, ImageOps, ImageSequence

from scan2pdf.errors import (
    CorruptInputError,
    EncryptedInputError,
    UnreadableInputError,
    first_line,
)
from scan2pdf.options import Options

# A DPI at or below this is what software writes when it does not know (72 or 96), not
# what a scanner measured; trusting it would make Tesseract see tiny text.
_IMPLAUSIBLE_DPI = 96.0

LayoutFun = Callable[[int, int, tuple[float, float]], tuple[float, float, float, float]]


@dataclass
class Prepared:
    """A PDF ready for OCRmyPDF, plus what preflight did to get there."""

    pdf: Path
    pages: int
    notes: list[str] = field(default_factory=list)


def prepare(source: Path, kind: str, options: Options, scratch: Path) -> Prepared:
    if kind == "pdf":
        return _prepare_pdf(source, scratch)
    return _prepare_image(source, options, scratch)


# ---- PDFs --------------------------------------------------------------------------------


def _prepare_pdf(source: Path, scratch: Path) -> Prepared:
    try:
        pdf = pikepdf.open(source)
    except pikepdf.PasswordError as exc:
        raise EncryptedInputError("The PDF is encrypted with a password.") from exc
    except pikepdf.PdfError as exc:
        # pikepdf prefixes its message with the path, which the report already names.
        why = first_line(exc).removeprefix(f"{source}: ")
        raise CorruptInputError(f"The PDF cannot be read ({why}).") from exc
    except OSError as exc:
        raise UnreadableInputError(f"The file cannot be read ({exc.strerror}).") from exc
    with pdf:
        pages = len(pdf.pages)
        if pages == 0:
            raise CorruptInputError("The PDF has no pages.")
        if not pdf.is_encrypted:
            return Prepared(source, pages)
        decrypted = scratch / "decrypted.pdf"
        pdf.save(decrypted)  # saving without encryption= writes an unencrypted copy
    return Prepared(decrypted, pages, ["encryption removed (no password was needed to open it)"])


# ---- images ------------------------------------------------------------------------------


def credible_dpi(dpi: tuple[float, float] | None) -> float | None:
    """The image's DPI if a scanner could plausibly have written it, else None."""
    if not dpi:
        return None
    x, y = float(dpi[0]), float(dpi[1])
    if x <= _IMPLAUSIBLE_DPI or y <= _IMPLAUSIBLE_DPI or abs(x - y) > 1:
        return None
    return x


def _layout(fallback_dpi: int, used: set[float]) -> LayoutFun:
    """img2pdf layout: page size from the frame's own DPI, or from the fallback."""

    def layout(
        width_px: int, height_px: int, ndpi: tuple[float, float]
    ) -> tuple[float, float, float, float]:
        dpi = credible_dpi(ndpi) or float(fallback_dpi)
        used.add(dpi)
        width_pt, height_pt = width_px * 72.0 / dpi, height_px * 72.0 / dpi
        return width_pt, height_pt, width_pt, height_pt

    return layout


def _prepare_image(source: Path, options: Options, scratch: Path) -> Prepared:
    used_dpi: set[float] = set()
    out = scratch / "image.pdf"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(source) as image:
                pages = getattr(image, "n_frames", 1)
        try:
            data = img2pdf.convert(str(source), layout_fun=_layout(options.image_dpi, used_dpi))
        except (img2pdf.AlphaChannelError, img2pdf.ImageOpenError, ValueError, OSError):
            used_dpi.clear()
            frames = _normalise_frames(source, scratch)
            data = img2pdf.convert(
                [str(f) for f in frames], layout_fun=_layout(options.image_dpi, used_dpi)
            )
    except Image.DecompressionBombError as exc:
        raise CorruptInputError(
            f"The image is too large to decode safely ({exc}).",
            "Split or downsample it before converting.",
        ) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise CorruptInputError(f"The image cannot be decoded ({first_line(exc)}).") from exc
    out.write_bytes(data)
    notes = [f"{dpi:g} dpi used for OCR" for dpi in sorted(used_dpi)]
    return Prepared(out, pages, notes)


def _normalise_frames(source: Path, scratch: Path) -> list[Path]:
    """Re-encode each frame as a lossless PNG that img2pdf accepts.

    Keeps each frame's DPI. Alpha is composited onto white here; legibility of light
    text on transparent backgrounds is preflight's next job (issue: real-world inputs).
    """
    frames: list[Path] = []
    with Image.open(source) as image:
        for number, frame in enumerate(ImageSequence.Iterator(image), start=1):
            dpi = frame.info.get("dpi")
            flat = ImageOps.exif_transpose(frame) if number == 1 else frame.copy()
            if flat.mode in ("RGBA", "LA", "PA") or "transparency" in flat.info:
                rgba = flat.convert("RGBA")
                background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                flat = Image.alpha_composite(background, rgba).convert("RGB")
            elif flat.mode not in ("1", "L", "RGB"):
                flat = flat.convert("RGB")
            path = scratch / f"frame-{number:05d}.png"
            flat.save(path, dpi=dpi) if dpi else flat.save(path)
            frames.append(path)
    return frames
