"""TIFFs Pillow cannot decode, read with tifffile: colour at 16 bits per channel stored
plane by plane, 16-bit gray with alpha, and the other layouts film and flatbed scanners
write.

Pillow 13 reads interleaved 48/64-bit RGB(A) TIFFs and PNGs itself (to 8 bits); it refuses
planar 16-bit colour and 16-bit gray+alpha as "cannot identify image file" (checked
2026-12-02). tifffile (with imagecodecs for LZW and the other codecs) reads them all; each
page becomes an 8-bit Pillow image (16-bit scaled, float stretched over its range) that
the normal path (``worker/images.py``) then flattens, orients and embeds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tifffile
from PIL import Image

from scan2pdf.errors import TooLargeError

_MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


def is_tiff(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) in _TIFF_MAGIC


def wide_tiff_frames(path: Path, max_mpixels: float) -> list[Image.Image] | None:
    """The TIFF's pages as 8-bit images; None when tifffile cannot read it either."""
    try:
        with tifffile.TiffFile(path) as tif:
            frames = []
            for page in tif.pages:
                if not isinstance(page, tifffile.TiffPage):
                    continue
                width, height = int(page.imagewidth), int(page.imagelength)
                if width * height / 1_000_000 > max_mpixels:
                    raise TooLargeError(
                        f"The image has {width * height / 1_000_000:,.0f} megapixels "
                        f"({width}x{height}), more than the budget of {max_mpixels:g}."
                    )
                frame = _to_image(page.asarray(), page)
                dpi = _dpi(page)
                if dpi:
                    frame.info["dpi"] = dpi
                frames.append(frame)
    except (tifffile.TiffFileError, ValueError, OSError, KeyError, IndexError):
        return None
    return frames or None


def _to_image(array: np.ndarray, page: tifffile.TiffPage) -> Image.Image:
    if page.axes == "SYX":  # samples first: make them the last axis, as Pillow has them
        array = np.moveaxis(array, 0, -1)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if np.issubdtype(array.dtype, np.floating):
        low, high = float(np.nanmin(array)), float(np.nanmax(array))
        scale = 255.0 / (high - low) if high > low else 1.0
        array = np.nan_to_num((array - low) * scale)
    elif array.dtype.itemsize > 1:
        array = array / float(np.iinfo(array.dtype).max) * 255.0
    eight = np.clip(np.rint(array), 0, 255).astype(np.uint8)
    channels = 1 if eight.ndim == 2 else eight.shape[-1]
    if channels not in _MODES:
        raise ValueError(f"{channels} samples per pixel")
    if page.photometric == tifffile.PHOTOMETRIC.MINISWHITE and channels == 1:
        eight = 255 - eight
    return Image.fromarray(eight, _MODES[channels])


def _dpi(page: tifffile.TiffPage) -> tuple[float, float] | None:
    tags = page.tags
    if "XResolution" not in tags or "YResolution" not in tags:
        return None
    x, y = (tags[name].value for name in ("XResolution", "YResolution"))
    xr, yr = x[0] / x[1], y[0] / y[1]
    unit = tags["ResolutionUnit"].value if "ResolutionUnit" in tags else 2
    if int(unit) == 3:  # centimetres
        xr, yr = xr * 2.54, yr * 2.54
    return (xr, yr) if int(unit) in (2, 3) else None
