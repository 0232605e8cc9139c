"""Damaged inputs get a specific reason (``corrupt`` and the like), never ``internal_error``:
a generated set of broken files through convert and through watch, null OCR engine."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
from PIL import Image

from scan2pdf import convert

from .conftest import SAMPLES
from .engine_helpers import NULL_ENGINE, ScriptedWatch, scan

REPORT = SAMPLES / "reports" / "scanned-report.pdf"


def damaged_set(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    data = REPORT.read_bytes()
    made = []
    for share in (0.1, 0.3, 0.6, 0.9, 0.99):
        path = folder / f"cut-{int(share * 100)}.pdf"
        path.write_bytes(data[: int(len(data) * share)])
        made.append(path)
    (folder / "empty.pdf").write_bytes(b"")
    noise = random.Random(7).randbytes(20000)
    (folder / "noise.pdf").write_bytes(b"%PDF-1.7\n" + noise)
    made += [folder / "empty.pdf", folder / "noise.pdf"]
    image = Image.effect_noise((600, 800), 40).convert("L")
    for fmt, ext in (("PNG", "png"), ("JPEG", "jpg"), ("TIFF", "tif")):
        whole = folder / f"whole.{ext}"
        image.save(whole, format=fmt, dpi=(300, 300))
        cut = folder / f"cut.{ext}"
        cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 3])
        whole.unlink()
        made.append(cut)
    tiff = scan(folder / "ifd.tif", pages=2)
    raw = bytearray(tiff.read_bytes())
    raw[4:8] = (len(raw) + 4096).to_bytes(4, "little" if raw[:2] == b"II" else "big")
    tiff.write_bytes(bytes(raw))  # the first directory lies past the end of the file
    entries = scan(folder / "entries.tif", pages=1)
    raw = bytearray(entries.read_bytes())
    offset = int.from_bytes(raw[4:8], "little")
    raw[offset + 2 : offset + 60] = random.Random(3).randbytes(58)  # garbage IFD entries
    entries.write_bytes(bytes(raw))
    return [*made, tiff, entries]


def check(results: list[object]) -> None:
    for result in results:
        reason, message = result.reason, result.message or ""
        assert reason != "internal_error", (result, message)
        assert "bug" not in message.lower(), (result, message)
        if result.status == "failed":
            assert reason in {"corrupt", "unreadable", "too_large"}, (result, message)


def test_damaged_files_through_convert(tmp_path: Path) -> None:
    files = damaged_set(tmp_path / "in")
    seen: list[object] = []
    report = convert([tmp_path / "in"], tmp_path / "out", NULL_ENGINE, on_result=seen.append)
    assert len(seen) == len(files)
    check(seen)
    assert report.failed >= len(files) - 4  # some PDF cuts are repaired by qpdf and convert


def test_damaged_files_through_watch(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    files = damaged_set(inbox)
    with ScriptedWatch(inbox, tmp_path / "out") as watch:
        results = watch.wait(len(files))
    check(results)


@pytest.mark.slow
def test_damaged_files_with_tesseract(tmp_path: Path) -> None:
    """The same set with the real engine (Tesseract reads whatever qpdf could repair)."""
    damaged_set(tmp_path / "in")
    seen: list[object] = []
    convert([tmp_path / "in"], tmp_path / "out", on_result=seen.append)
    check(seen)
    shutil.rmtree(tmp_path / "out")
