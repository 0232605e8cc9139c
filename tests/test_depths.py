"""Every colour depth scanners and phones write reads as an 8-bit copy of the same page.

Files are generated here: tifffile and imagecodecs write the 16-bit and float layouts
(they are project dependencies), pillow-heif the HEIC.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import imagecodecs
import numpy as np
import pytest
import tifffile
from pillow_heif import from_pillow

from .conftest import run_scan2pdf
from .test_images import TEXT, page

Writer = Callable[[Path, np.ndarray], None]


def colour16(gray8: np.ndarray) -> np.ndarray:
    """The page in 16-bit colour: dark blue ink on cream paper, as a film scanner writes it."""
    ink, paper = np.array([20, 30, 90]), np.array([250, 244, 225])
    share = gray8[..., None] / 255.0
    return np.rint((ink + (paper - ink) * share) * 257).astype(np.uint16)


def with_alpha(rgb: np.ndarray) -> np.ndarray:
    return np.dstack([rgb, np.full(rgb.shape[:2], 65535, np.uint16)])


WRITERS: dict[str, Writer] = {
    "rgb48-planar.tif": lambda p, g: tifffile.imwrite(
        p,
        np.moveaxis(colour16(g), -1, 0),  # planes: (samples, height, width)
        photometric="rgb",
        planarconfig="separate",
        compression="lzw",
        resolution=(300, 300),
    ),
    "rgb48.tif": lambda p, g: tifffile.imwrite(
        p, colour16(g), photometric="rgb", compression="zlib", resolution=(300, 300)
    ),
    "rgba64.tif": lambda p, g: tifffile.imwrite(
        p,
        with_alpha(colour16(g)),
        photometric="rgb",
        extrasamples=["unassalpha"],
        resolution=(300, 300),
    ),
    "gray16-alpha.tif": lambda p, g: tifffile.imwrite(
        p,
        np.dstack([g.astype(np.uint16) * 257, np.full(g.shape, 65535, np.uint16)]),
        photometric="minisblack",
        extrasamples=["unassalpha"],
        resolution=(300, 300),
    ),
    "float32.tif": lambda p, g: tifffile.imwrite(
        p, g.astype(np.float32) / 255.0, resolution=(300, 300)
    ),
    "rgb48.png": lambda p, g: p.write_bytes(imagecodecs.png_encode(colour16(g))),
    "rgba64.png": lambda p, g: p.write_bytes(imagecodecs.png_encode(with_alpha(colour16(g)))),
}


@pytest.fixture(scope="module")
def depths(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    base = tmp_path_factory.mktemp("depths")
    src = base / "in"
    src.mkdir()
    gray = page()
    gray.save(src / "eight-bit.png", dpi=(300, 300))
    for name, write in WRITERS.items():
        write(src / name, np.asarray(gray))
    from_pillow(gray.convert("RGB")).save(src / "phone.heic", quality=95)
    run = run_scan2pdf(
        "convert", src, "-o", base / "out", "--image-dpi", "300", report=base / "r.jsonl"
    )
    assert run.returncode == 0, run.stderr
    texts = {p.name: p.read_text() for p in (base / "out").glob("*.txt")}
    # Pillow cannot identify a 16-bit gray+alpha TIFF (13.0): tifffile decodes it.
    assert (
        "decoded with tifffile (a TIFF layout Pillow does not read)"
        in run.by_name()["gray16-alpha.tif"]["notes"]
    )
    return base, texts


@pytest.mark.parametrize("name", [*WRITERS, "phone.heic"])
def test_a_depth_reads_as_its_8bit_copy(depths: tuple[Path, dict[str, str]], name: str) -> None:
    _, texts = depths
    stem = name.rsplit(".", 1)[0]
    # Both PNG and TIFF of one stem: the later one is named after its full file name.
    sidecar = texts.get(f"{name}.txt") or texts[f"{stem}.txt"]
    assert " ".join(sidecar.split()) == TEXT
    assert " ".join(texts["eight-bit.txt"].split()) == TEXT
