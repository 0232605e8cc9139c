"""Pages read by the Tesseract kept loaded in a worker (worker/loaded.py): the same reading
as the ``tesseract`` program's, page for page, and the program wherever the loaded one
is not the program's own."""

from __future__ import annotations

import logging
import multiprocessing
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from ocrmypdf.builtin_plugins.tesseract_ocr import TesseractOcrEngine
from PIL import Image

from scan2pdf.worker import loaded
from scan2pdf.worker.orientation import read_tsv

from .conftest import SAMPLES, run_scan2pdf
from .helpers import pdf_text, squash, tesseract_shim, text_image

needs_loaded = pytest.mark.skipif(
    not loaded.available(), reason="no tesserocr built on this Tesseract (scripts/bootstrap.sh)"
)


def options(languages: str = "eng", **tesseract: object) -> SimpleNamespace:
    """What OCRmyPDF 17.13 hands an engine: ``options.languages``, ``options.tesseract``."""
    defaults: dict[str, object] = {
        "timeout": 180.0,
        "oem": None,
        "config": ["tsv"],  # as worker/engine.py asks
        "user_words": None,
        "user_patterns": None,
        "pagesegmode": None,
        "thresholding": 0,
        "omp_thread_limit": None,
    }
    return SimpleNamespace(
        languages=languages.split("+"), tesseract=SimpleNamespace(**(defaults | tesseract))
    )


def read_both(image: Path, tmp: Path, opts: SimpleNamespace) -> tuple[Path, Path]:
    """``image`` read by the loaded Tesseract into tmp/loaded/, by the program into
    tmp/program/; each folder holds page.pdf, page.txt and page.tsv."""
    ours, theirs = tmp / "loaded", tmp / "program"
    for folder in (ours, theirs):
        folder.mkdir()
    assert loaded.read_page(image, ours / "page.pdf", ours / "page.txt", opts)
    TesseractOcrEngine.generate_pdf(image, theirs / "page.pdf", theirs / "page.txt", opts)
    return ours, theirs


def words_file(tmp: Path) -> Path:
    path = tmp / "words.txt"
    path.write_text("Biblioteca\nMunicipal\n", encoding="utf-8")
    return path


@needs_loaded
@pytest.mark.parametrize(
    ("sample", "languages", "tesseract"),
    [
        ("letters/english-letter.tif", "eng", {}),
        ("letters/spanish-note.png", "spa", {}),
        ("notices/chinese-notice.jpg", "chi_sim", {}),
        ("letters/spanish-note.png", "eng+spa", {"pagesegmode": 6, "thresholding": 2}),
        ("letters/spanish-note.png", "spa", {"oem": 1, "user_words": "words"}),
    ],
)
def test_a_loaded_tesseract_reads_a_page_as_the_program_does(
    tmp_path: Path, sample: str, languages: str, tesseract: dict[str, object]
) -> None:
    if tesseract.get("user_words") == "words":
        tesseract = tesseract | {"user_words": words_file(tmp_path)}
    image = SAMPLES / sample
    if image.suffix == ".tif":  # its first page, as OCRmyPDF would hand it over
        with Image.open(image) as tif:
            tif.save(image := tmp_path / "page.png", dpi=tif.info.get("dpi", (300, 300)))

    ours, theirs = read_both(image, tmp_path, options(languages, **tesseract))

    text = (ours / "page.txt").read_text(encoding="utf-8")
    assert len(squash(text)) > 20  # it did read the page
    assert text == (theirs / "page.txt").read_text(encoding="utf-8")
    assert squash(pdf_text(ours / "page.pdf")) == squash(pdf_text(theirs / "page.pdf"))
    assert (ours / "page.tsv").read_text(encoding="utf-8") == (theirs / "page.tsv").read_text(
        encoding="utf-8"
    )


@needs_loaded
def test_a_blank_page_reads_as_the_program_reads_it(tmp_path: Path) -> None:
    image = tmp_path / "blank.png"
    Image.new("L", (1200, 1600), 255).save(image, dpi=(300, 300))

    ours, theirs = read_both(image, tmp_path, options())

    assert (ours / "page.txt").read_text() == (theirs / "page.txt").read_text()
    assert squash(pdf_text(ours / "page.pdf")) == ""
    assert read_tsv(ours / "page.tsv").words == 0


@needs_loaded
def test_a_page_out_of_time_is_skipped_as_ocrmypdf_skips_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    image = text_image(tmp_path / "long.png", "A page that takes longer than allowed " * 3)
    pdf, txt = tmp_path / "page.pdf", tmp_path / "page.txt"

    with caplog.at_level(logging.WARNING):
        assert loaded.read_page(image, pdf, txt, options(timeout=0.001))

    assert pdf.read_bytes() == b""  # OCRmyPDF's mark of a page without a text layer
    assert txt.read_text() == "[skipped page]"
    assert "took too long to OCR - skipping" in caplog.text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.png", "page.pdf", "page.txt"]


@needs_loaded
def test_what_the_loaded_tesseract_cannot_read_is_left_to_the_program(tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.png"
    damaged.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    pdf, txt = tmp_path / "page.pdf", tmp_path / "page.txt"

    assert not loaded.read_page(damaged, pdf, txt, options())
    assert not pdf.exists() and not txt.exists()  # nothing half-written for it to trip on
    # A zero timeout: the program's path skips the page, in OCRmyPDF's own way.
    assert not loaded.read_page(SAMPLES / "letters/spanish-note.png", pdf, txt, options(timeout=0))


def _read_in_child(image: str, folder: str) -> str:
    out = Path(folder)
    assert loaded.read_page(Path(image), out / "child.pdf", out / "child.txt", options("spa"))
    return (out / "child.txt").read_text(encoding="utf-8")


@needs_loaded
def test_a_process_forked_after_reading_reads_with_its_own_tesseract(tmp_path: Path) -> None:
    """OCRmyPDF's page pool forks from the warm worker, which holds loaded readers."""
    image = SAMPLES / "letters/spanish-note.png"
    assert loaded.read_page(image, tmp_path / "p.pdf", tmp_path / "p.txt", options("spa"))

    with multiprocessing.get_context("fork").Pool(1) as pool:
        child = pool.apply_async(_read_in_child, (str(image), str(tmp_path))).get(timeout=120)

    assert child == (tmp_path / "p.txt").read_text(encoding="utf-8")


def pages_read_by_the_program(log: Path) -> int:
    """Runs that read a page into a text-only PDF: ``IMAGE PREFIX pdf txt [tsv]``."""
    return sum(" pdf txt" in line for line in log.read_text().splitlines())


@pytest.mark.parametrize("engine", ["loaded", "command", "another version"])
def test_a_batch_is_read_by_the_loaded_tesseract_only_where_it_is_the_programs(
    tmp_path: Path, engine: str
) -> None:
    if engine == "loaded" and not loaded.available():
        pytest.skip("no tesserocr built on this Tesseract (scripts/bootstrap.sh)")
    env, log = tesseract_shim(tmp_path, "9.9.9" if engine == "another version" else None)
    if engine == "command":
        env[loaded.SWITCH] = "command"
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    names = ["alpha", "bravo", "delta"]
    for name in names:
        text_image(src / f"letter-{name}.png", f"Letter {name} arrived today")

    run = run_scan2pdf("convert", src, "-o", out, "-j", "2", env=env)

    assert run.returncode == 0, run.stderr
    for name in names:
        assert f"letter{name}arrived" in squash((out / f"letter-{name}.txt").read_text())
    assert pages_read_by_the_program(log) == (0 if engine == "loaded" else 3)


def program_detector(image: Path) -> loaded.Detected:
    """What ``tesseract IMAGE stdout --psm 0 -l osd`` prints, as a ``Detected``."""
    done = subprocess.run(
        ["tesseract", str(image), "stdout", "--psm", "0", "-l", "osd"],
        capture_output=True,
        text=True,
        check=True,
    )
    said = dict(line.split(": ", 1) for line in done.stdout.splitlines() if ": " in line)
    return loaded.Detected(
        int(said["Orientation in degrees"]),
        float(said["Orientation confidence"]),
        said["Script"],
        float(said["Script confidence"]),
    )


@needs_loaded
@pytest.mark.parametrize("turn", [0, 90, 180])
@pytest.mark.parametrize("sample", ["letters/spanish-note.png", "notices/chinese-notice.jpg"])
def test_the_loaded_orientation_detector_says_what_the_program_says(
    tmp_path: Path, sample: str, turn: int
) -> None:
    image = tmp_path / "page.png"
    with Image.open(SAMPLES / sample) as page:
        page.convert("L").rotate(-turn, expand=True).save(image, dpi=(300, 300))

    ours, theirs = loaded.detect(image), program_detector(image)

    assert ours is not None
    assert (ours.angle, ours.script) == (theirs.angle, theirs.script)
    # The program prints two decimals.
    assert round(ours.confidence, 2) == theirs.confidence
    assert round(ours.script_confidence, 2) == theirs.script_confidence
