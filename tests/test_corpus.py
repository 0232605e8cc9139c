"""End to end on real third-party scans in ../shared/corpus, read in place.

Skipped as a whole where the corpus is absent. The files are passed as INPUT arguments;
nothing is copied into the project or next to them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .conftest import Run, run_scan2pdf
from .helpers import pdf_pages, pdf_text, squash

pytestmark = pytest.mark.corpus

# file -> (status, reason, pages, ocr_pages)
OUTCOMES: dict[str, tuple[str, str | None, int | None, int | None]] = {
    "tess__phototest.tif": ("converted", None, 1, 1),
    "tessjs__simple.pbm": ("converted", None, 1, 1),
    "paperless__multi-page-images.tiff": ("converted", None, 3, 3),
    "paperless__multi-page-images.pdf": ("converted", None, 3, 3),
    "paperless__document.webp": ("converted", None, 1, 1),
    "paperless__simple-digital.pdf": ("converted", None, 1, 0),
    "paperless__single-page-mixed.pdf": ("converted", None, 2, 0),
    "ocrmypdf__invalid.pdf": ("failed", "corrupt", None, None),
    "paperless__password-is-test.pdf": ("failed", "encrypted", None, None),
    "paperless__signed.pdf": ("failed", "signed", None, None),
}


@pytest.fixture(scope="module")
def corpus_run(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Run]:
    base = tmp_path_factory.mktemp("corpus")
    out = base / "out"
    run = run_scan2pdf(
        "convert", *(corpus / name for name in OUTCOMES), "-o", out, report=base / "report.jsonl"
    )
    return out, run


def gt_pages(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\f")


def test_outcomes(corpus_run: tuple[Path, Run]) -> None:
    out, run = corpus_run
    assert run.returncode == 1  # three inputs are refused; everything else converted
    got = {
        name: (r["status"], r["reason"], r["pages"], r["ocr_pages"])
        for name, r in run.by_name().items()
    }
    assert got == OUTCOMES
    for name, (status, _, pages, _) in OUTCOMES.items():
        pdf = out / output_name(name)
        assert pdf.exists() == (status == "converted"), name
        assert run.by_name()[name]["output"] == (str(pdf) if status == "converted" else None)
        if pages:
            assert pdf_pages(pdf) == pages


def output_name(name: str) -> str:
    # Both "multi-page-images" inputs want the same name: the first argument (the TIFF)
    # keeps it, the later one is named after its full file name (discover.py's rule).
    if name == "paperless__multi-page-images.pdf":
        return "paperless__multi-page-images.pdf.pdf"
    return f"{Path(name).stem}.pdf"


def test_ground_truth_is_in_sidecar_and_text_layer(
    corpus_run: tuple[Path, Run], corpus: Path
) -> None:
    out, _ = corpus_run
    for name in [
        "tess__phototest.tif",
        "paperless__multi-page-images.tiff",
        "paperless__multi-page-images.pdf",
        "paperless__simple-digital.pdf",
    ]:
        truth = gt_pages(corpus / f"{name}.gt.txt")
        pdf = out / output_name(name)
        sidecar = pdf.with_suffix(".txt").read_text(encoding="utf-8").split("\f")
        layer = pdf_text(pdf).split("\f")
        assert len(sidecar) == len(layer) == len([p for p in truth if p.strip()]), name
        for page, expected in enumerate(p for p in truth if p.strip()):
            # First line of each ground-truth page, whitespace-insensitive.
            first = squash(expected.strip().splitlines()[0])
            assert first in squash(sidecar[page]), (name, page)
            assert first in squash(layer[page]), (name, page)


def test_webp_expectation(corpus_run: tuple[Path, Run], corpus: Path) -> None:
    out, _ = corpus_run
    pattern = (corpus / "paperless__document.webp.expect.txt").read_text().strip()
    text = " ".join((out / "paperless__document.txt").read_text().split())
    assert re.search(pattern, text, re.IGNORECASE)


def test_existing_text_modes_on_a_mixed_pdf(corpus: Path, tmp_path: Path) -> None:
    """skip keeps page text as is; redo adds the text hidden in page 1's image."""
    mixed = corpus / "paperless__single-page-mixed.pdf"
    expected = [
        line for line in (corpus / f"{mixed.name}.expect.txt").read_text().splitlines() if line
    ]
    run_scan2pdf("convert", mixed, "-o", tmp_path / "skip", "-q")
    redo = run_scan2pdf(
        "convert",
        mixed,
        "-o",
        tmp_path / "redo",
        "--existing-text",
        "redo",
        report=tmp_path / "redo.jsonl",
    )
    skipped = squash((tmp_path / "skip" / "paperless__single-page-mixed.txt").read_text())
    redone = squash((tmp_path / "redo" / "paperless__single-page-mixed.txt").read_text())
    image_line = squash("This is some text, but in an image, also on page 1.")
    assert image_line not in skipped
    for line in expected:
        assert squash(line) in redone, line
    assert redo.report[0]["ocr_pages"] == 2
