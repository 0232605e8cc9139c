"""--cluster: files that share a Dask worker process stay apart (issue 29, item 5).

A Dask worker runs several files at once in the threads of one process. What one of them
is sent, reads or sets must never reach another: inputs scattered to the worker are keyed
by their job, not by their name, and nothing a file sets for itself (Pillow's pixel guard,
its captured warnings) is shared. Real ``dask scheduler`` and ``dask worker`` processes on
127.0.0.1 (``test_cluster.py``'s).
"""

from __future__ import annotations

import logging
import os
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import img2pdf
import pikepdf
import pytest
from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

from scan2pdf.core.jobs import Job
from scan2pdf.core.options import Options
from scan2pdf.core.pillowguard import open_header
from scan2pdf.execution.cluster import INLINE_BYTES
from scan2pdf.execution.workerproc import COLLECT

from .conftest import run_scan2pdf
from .helpers import FONT, helvetica_page, pdf_text, squash, text_image
from .test_cluster import Cluster, sidecars, start_cluster, stop_cluster

pytest.importorskip("distributed")

WAIT = 60.0  # seconds: only so that a broken test fails instead of hanging
# Over INLINE_BYTES: such an input is scattered straight to a worker, not sent in the task.
BIG = INLINE_BYTES + (1 << 20)
WORDS = {
    "alpha": "Alpha volume of apples",
    "bravo": "Bravo volume of bananas",
    "charlie": "Charlie volume of cherries",
    "delta": "Delta volume of dates",
}


@pytest.fixture(scope="module")
def one_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One worker process with two threads: every file of a run shares its process."""
    running = start_cluster(tmp_path_factory.mktemp("dask"), workers=1, threads=2)
    try:
        yield running
    finally:
        stop_cluster(running)


def padded_text_pdf(target: Path, words: str, size: int = BIG) -> Path:
    """A one-page PDF whose text layer reads ``words``, made ``size`` bytes long by a
    stream of random (incompressible) bytes the page never shows."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with pikepdf.new() as pdf:
        content = b"BT /F1 14 Tf 72 700 Td (" + words.encode() + b") Tj ET"
        pdf.pages.append(helvetica_page(pdf, content))
        pdf.Root.Padding = pdf.make_stream(os.urandom(size))
        pdf.save(target)
    return target


def big_page_scan(target: Path, words: str) -> Path:
    """An uncompressed TIFF page scan of ``words``, over INLINE_BYTES."""
    target.parent.mkdir(parents=True, exist_ok=True)
    side = int(BIG**0.5) + 1  # 8-bit grey: one byte a pixel
    image = Image.new("L", (side, side), 255)
    font = ImageFont.truetype(FONT, 120)
    ImageDraw.Draw(image).text((200, 600), words, font=font, fill=0)
    image.save(target, dpi=(300, 300))  # Pillow writes TIFFs uncompressed
    assert target.stat().st_size > INLINE_BYTES
    return target


def convert_on(cluster: Cluster, src: Path, out: Path, *args: str) -> dict[str, str]:
    run = run_scan2pdf(
        "convert",
        src,
        "-o",
        out,
        "--cluster",
        cluster.address,
        "--cluster-storage",
        "send",
        *args,
        report=out.parent / f"{out.name}.jsonl",
    )
    assert run.returncode == 0, run.stderr
    assert {(r["status"], r["reason"]) for r in run.report} == {("converted", None)}
    return {name: squash(text) for name, text in sidecars(out).items()}


def test_same_named_inputs_scattered_together_keep_their_own_text(
    one_worker: Cluster, tmp_path: Path
) -> None:
    """Four ``scan.pdf`` in four folders, each over the inline limit, in flight at once on
    one worker: each output reads its own input's words, in its sidecar and its PDF."""
    src, out = tmp_path / "in", tmp_path / "out"
    for folder, words in WORDS.items():
        padded_text_pdf(src / folder / "scan.pdf", words)

    texts = convert_on(one_worker, src, out, "--ocr-engine", "none")

    assert texts == {f"{folder}/scan.txt": squash(words) for folder, words in WORDS.items()}
    for folder, words in WORDS.items():
        assert squash(pdf_text(out / folder / "scan.pdf")) == squash(words)


@pytest.mark.slow
def test_same_named_pages_of_two_volumes_are_ocred_from_their_own_scans(
    one_worker: Cluster, tmp_path: Path
) -> None:
    """Two volumes (``--group-pages``) whose pages have the same names, the first page of
    each over the inline limit, read by Tesseract on one worker: each volume's text is
    its own, page for page."""
    src, out = tmp_path / "in", tmp_path / "out"
    pages = {"volume-a": ("Apples", "Avocados"), "volume-b": ("Bananas", "Blueberries")}
    for volume, (first, second) in pages.items():
        big_page_scan(src / volume / "0001.tif", f"{first} page one")
        text_image(src / volume / "0002.tif", f"{second} page two", fmt="TIFF")

    texts = convert_on(one_worker, src, out, "--group-pages")

    assert set(texts) == {"volume-a.txt", "volume-b.txt"}
    for volume, (first, second) in pages.items():
        text = texts[f"{volume}.txt"]
        assert f"{first}pageone".lower() in text and f"{second}pagetwo".lower() in text, text
        other = next(words for name, words in pages.items() if name != volume)
        assert not any(word.lower() in text for word in other), text


def test_a_page_over_the_budget_is_refused_while_another_file_reads_its_image(
    tmp_path: Path,
) -> None:
    """On one 2-thread worker, a PDF whose image is over the pixel budget is OCRed while
    another file is reading its image (the preload holds each at that point): Pillow's
    guard still refuses it, ``too_large``, and the other file converts."""
    running = start_cluster(
        tmp_path / "dask",
        1,
        "--preload",
        str(Path(__file__).with_name("isolation_preload.py")),
        threads=2,
    )
    src = tmp_path / "in"
    src.mkdir()
    wide = Image.new("L", (3000, 1000), 255)
    ImageDraw.Draw(wide).text((60, 400), "Too wide", font=ImageFont.truetype(FONT, 64), fill=0)
    wide.save(tmp_path / "wide.png", dpi=(300, 300))
    (src / "probe.pdf").write_bytes(img2pdf.convert(str(tmp_path / "wide.png")))
    text_image(src / "letter.png", "A letter beside it", fmt="PNG")
    try:
        run = run_scan2pdf(
            "convert",
            src,
            "-o",
            tmp_path / "out",
            "--max-image-mpixels",
            "1",
            "--cluster",
            running.address,
            report=tmp_path / "r.jsonl",
        )
    finally:
        stop_cluster(running)
    rows = run.by_name()
    assert run.returncode == 1, run.stderr
    assert (rows["probe.pdf"]["status"], rows["probe.pdf"]["reason"]) == ("failed", "too_large")
    assert rows["probe.pdf"]["message"] == (
        "An image in the PDF has 3 megapixels, more than the budget of 1 megapixels. "
        "Raise --max-image-mpixels if this machine has the memory for it, "
        "or split or downsample the image first."
    )
    assert rows["letter.png"]["status"] == "converted"
    assert "letterbesideit" in squash((tmp_path / "out" / "letter.txt").read_text())


# ---- in one process: what the worker keeps per file ---------------------------------------


def test_pages_of_one_name_from_two_folders_are_each_read_from_their_own_bytes(
    tmp_path: Path,
) -> None:
    """A folder document sent as bytes (``send`` storage) whose two pages have one name:
    the worker reads each page from its own bytes, in order."""
    from scan2pdf.worker.remote import run_on_cluster

    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
    first = text_image(tmp_path / "a" / "0001.png", "Apples on the first page", fmt="PNG")
    second = text_image(tmp_path / "b" / "0001.png", "Bananas on the second page", fmt="PNG")
    job = Job(
        str(tmp_path),
        tmp_path,
        "pages",
        tmp_path / "doc.pdf",
        tmp_path / "doc.txt",
        Options(),
        parts=(first, second),
    )

    outcome = run_on_cluster(job, (first.read_bytes(), second.read_bytes()), None)

    assert outcome.result.status == "converted", outcome.result
    assert isinstance(outcome.txt, bytes)
    pages = [squash(page) for page in outcome.txt.decode().split("\f")]
    assert "applesonthefirstpage" in pages[0] and "bananasonthesecondpage" in pages[1], pages


def test_each_file_keeps_its_own_warnings_when_files_share_a_process() -> None:
    """Two conversions at once in the threads of one process (a Dask worker): each file's
    details hold the warnings it logged, none of the other's; a page thread's warning
    (a thread of no file's own) goes to the one file in conversion, and to none while
    there are two."""
    logger = logging.getLogger("scan2pdf.test.collect")
    inside = {name: threading.Event() for name in ("a", "b")}
    paged_beside_b, b_done = threading.Event(), threading.Event()
    kept: dict[str, list[str]] = {}

    def page_thread(message: str) -> None:
        thread = threading.Thread(target=logger.warning, args=(message,))
        thread.start()
        thread.join()

    def convert_a() -> None:
        with COLLECT.collecting():
            inside["a"].set()
            inside["b"].wait(WAIT)
            logger.warning("a is converted")
            page_thread("a page while two files are in conversion")
            paged_beside_b.set()
            b_done.wait(WAIT)
            page_thread("a page of the one file in conversion")
            kept["a"] = list(COLLECT.lines)

    def convert_b() -> None:
        with COLLECT.collecting():
            inside["b"].set()
            inside["a"].wait(WAIT)
            logger.warning("b is converted")
            paged_beside_b.wait(WAIT)
            kept["b"] = list(COLLECT.lines)
        b_done.set()

    threads = [threading.Thread(target=convert_a), threading.Thread(target=convert_b)]
    logger.addHandler(COLLECT)
    logger.propagate = False  # COLLECT may be on the root logger too (worker/remote.py)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT)
    finally:
        logger.removeHandler(COLLECT)
        logger.propagate = True
    assert kept == {
        "a": ["warning: a is converted", "warning: a page of the one file in conversion"],
        "b": ["warning: b is converted"],
    }


def test_a_header_is_read_past_the_guard_without_turning_it_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pixel budget is checked from the header of an image far over Pillow's guard,
    while the guard stays on for every other open (no other thread sees it off)."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)
    Image.new("1", (40000, 30000), 1).save(tmp_path / "huge.tif", compression="group4")

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nor does Pillow warn about it
        with open_header(tmp_path / "huge.tif") as image:
            assert (image.size, Image.MAX_IMAGE_PIXELS) == ((40000, 30000), 1_000_000)
            with pytest.raises(Image.DecompressionBombError):
                Image.open(tmp_path / "huge.tif")

    with (tmp_path / "huge.tif").open("rb") as stream, open_header(stream) as image:
        assert image.format == "TIFF"
    with pytest.raises(UnidentifiedImageError), open_header(Path(__file__)):
        pass
