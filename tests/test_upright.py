"""Pages scanned sideways or upside down come out upright, by default, with real Tesseract."""

from __future__ import annotations

import re
from pathlib import Path

import img2pdf
import pytest
from PIL import Image

from scan2pdf.worker.loaded import SWITCH
from scan2pdf.worker.orientation import Reading, read_tsv

from .conftest import SAMPLES, run_scan2pdf
from .helpers import pdf_text, rendered_lightness, squash, tesseract_shim

LETTER = SAMPLES / "letters" / "english-letter.tif"
PHRASE = "the repair of the north pier"


def turned_copy(target: Path, clockwise: int) -> Path:
    """The letter's first page as a scanner that fed it turned would have written it."""
    with Image.open(LETTER) as page:
        page.rotate(-clockwise, expand=True).save(target, dpi=(200, 200))
    return target


def test_a_pdf_with_pages_every_way_up_comes_out_upright(tmp_path: Path) -> None:
    pages = [turned_copy(tmp_path / f"p{a}.png", a) for a in (0, 180, 90, 270)]
    scan = tmp_path / "mixed.pdf"
    scan.write_bytes(img2pdf.convert([str(p) for p in pages]))
    run = run_scan2pdf("convert", scan, "-o", tmp_path / "out", report=tmp_path / "r.jsonl")
    assert run.returncode == 0, run.stderr
    row = run.report[0]
    notes = [n for n in row["notes"] if isinstance(n, str)]
    turned = [n.split(":")[0] for n in notes if "turned" in n]
    # The scan was turned a clockwise; it needs (360 - a) more to stand upright.
    assert turned == [
        "page 2 turned 180° to read upright",
        "page 3 turned 270° to read upright",
        "page 4 turned 90° to read upright",
    ]
    output = tmp_path / "out" / "mixed.pdf"
    sidecar = (tmp_path / "out" / "mixed.txt").read_text().split("\f")
    layer = pdf_text(output).split("\f")
    for index in range(4):
        assert squash(PHRASE) in squash(sidecar[index]), index
        assert squash(PHRASE) in squash(layer[index]), index
        _, (width, height) = rendered_lightness(output, index)
        assert height > width, index  # shown as a portrait letter, as it was written


def test_upright_pages_are_left_alone_and_the_check_can_be_turned_off(tmp_path: Path) -> None:
    upside_down = turned_copy(tmp_path / "down.png", 180)
    upright = turned_copy(tmp_path / "up.png", 0)
    off = run_scan2pdf(
        "convert",
        upside_down,
        upright,
        "-o",
        tmp_path / "off",
        "--no-upright",
        report=tmp_path / "off.jsonl",
    )
    assert off.returncode == 0, off.stderr
    assert all(row["notes"] == [] for row in off.report)
    assert squash(PHRASE) not in squash((tmp_path / "off" / "down.txt").read_text())
    assert squash(PHRASE) in squash((tmp_path / "off" / "up.txt").read_text())


def write_tsv(path: Path, words: list[tuple[str, float, int, int]]) -> Path:
    header = "\t".join(
        [
            "level",
            "page_num",
            "block_num",
            "par_num",
            "line_num",
            "word_num",
            "left",
            "top",
            "width",
            "height",
            "conf",
            "text",
        ]
    )
    rows = [header, "1\t1\t0\t0\t0\t0\t0\t0\t640\t480\t-1\t"]
    rows += [
        f"5\t1\t1\t1\t1\t{i}\t10\t10\t{w}\t{h}\t{conf}\t{text}"
        for i, (text, conf, w, h) in enumerate(words, start=1)
    ]
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize(
    ("words", "doubtful"),
    [
        ([("harbour", 95.0, 120, 30), ("office", 93.0, 100, 30)], False),  # reads well
        ([("hmrbour", 35.0, 120, 30), ("0ffice", 40.0, 100, 30)], True),  # reads badly
        ([("harbour", 95.0, 30, 120), ("office", 93.0, 30, 100)], True),  # words on end
        (
            [("中华人民共和国万岁", 95.0, 30, 400)],
            False,
        ),  # CJK written top to bottom is not sideways
        ([("mo", 90.0, 30, 12)], False),  # a short label read confidently
        ([], False),  # a blank page: nothing to turn
    ],
)
def test_a_reading_says_when_a_page_needs_a_look(
    tmp_path: Path, words: list[tuple[str, float, int, int]], doubtful: bool
) -> None:
    reading = read_tsv(write_tsv(tmp_path / "page.tsv", words))
    assert reading.doubtful() is doubtful
    if words:
        assert reading.words == len(words)
    else:
        assert reading == Reading()


# ---- the shared corpus ---------------------------------------------------------------------

ROTATED = (
    "tess__phototest-rotated-180.png",
    "tess__phototest-rotated-L.png",
    "tess__phototest-rotated-R.png",
)


@pytest.mark.corpus
def test_the_corpus_rotated_pages_read_right_by_default(corpus: Path, tmp_path: Path) -> None:
    from .quality import cer

    run = run_scan2pdf(
        "convert", *(corpus / n for n in ROTATED), "-o", tmp_path, report=tmp_path / "r.jsonl"
    )
    truth = (corpus / "tess__phototest.tif.gt.txt").read_text()
    for name in ROTATED:
        stem = name.removesuffix(".png")
        assert cer(truth, (tmp_path / f"{stem}.txt").read_text()) <= 0.05, name
        assert cer(truth, pdf_text(tmp_path / f"{stem}.pdf")) <= 0.05, name
        _, (width, height) = rendered_lightness(tmp_path / f"{stem}.pdf")
        assert width > height, name  # phototest is a landscape page
        assert any("turned" in str(n) for n in run.by_name()[name]["notes"]), name


@pytest.mark.parametrize("engine", ["loaded", "command"])
def test_a_page_in_a_script_no_language_reads_is_not_read_four_ways(
    tmp_path: Path, engine: str
) -> None:
    """A Chinese notice in a batch read with -l eng: it reads as noise every way up, so
    it is not read four ways for nothing (the program's log shows no sample reading); the
    note says which language to add."""
    env, log = tesseract_shim(tmp_path)
    notice = SAMPLES / "notices" / "chinese-notice.jpg"

    run = run_scan2pdf(
        "convert",
        notice,
        "-o",
        tmp_path / "out",
        "-l",
        "eng",
        report=tmp_path / "r.jsonl",
        env=env | {SWITCH: "command" if engine == "command" else ""},
    )

    assert run.returncode == 0, run.stderr
    notes = [n for n in run.report[0]["notes"] if isinstance(n, str) and n.startswith("page")]
    assert len(notes) == 1
    assert re.fullmatch(
        r"page 1 reads poorly but was left as it is: it looks written in Han script "
        r"\(Tesseract's detector, confidence \d\.\d\d\), which -l eng does not read; "
        r"give -l its language \(chi_sim, chi_tra or jpn\)",
        notes[0],
    ), notes[0]
    assert "samples.tif" not in log.read_text()  # no four-way reading


def four_ways(tmp_path: Path) -> Path:
    pages = [turned_copy(tmp_path / f"p{a}.png", a) for a in (0, 180, 90, 270)]
    scan = tmp_path / "mixed.pdf"
    scan.write_bytes(img2pdf.convert([str(p) for p in pages]))
    return scan


@pytest.mark.parametrize(
    ("deskew", "renderer"), [(False, "sandwich"), (False, "fpdf2"), (True, "sandwich")]
)
def test_a_turned_page_is_read_again_in_its_own_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, deskew: bool, renderer: str
) -> None:
    """Issue 34: a turned page is turned and read again inside its page's task, so the
    file's pipeline (rasterising, PDF/A, checks) runs once: one ocr() call. With --deskew
    the page's new image is made turned too (before, a second pass refused --deskew and
    every turned page failed its file)."""
    import ocrmypdf
    import pikepdf

    from scan2pdf.core.options import Options
    from scan2pdf.worker import engine

    calls: list[Path] = []
    real = ocrmypdf.ocr

    def counted(source: Path, *args: object, **kwargs: object) -> object:
        calls.append(source)
        return real(source, *args, **kwargs)

    monkeypatch.setattr(ocrmypdf, "ocr", counted)
    work = tmp_path / "work"
    work.mkdir()
    output, sidecar = work / "out.pdf", work / "out.txt"
    run = engine.run_ocr(
        four_ways(tmp_path),
        output,
        sidecar,
        Options(deskew=deskew, pdf_renderer=renderer),
        jobs=2,
        pages=4,
    )

    assert len(calls) == 1
    assert [
        (n, r.turn.angle) for n, r in sorted(run.pages.items()) if r.turn and r.turn.angle
    ] == [(2, 180), (3, 270), (4, 90)]
    with pikepdf.open(output) as pdf:
        rotates = [int(p.obj.get("/Rotate", 0)) for p in pdf.pages]
    # Deskewed, each page is a new image, drawn upright (as OCRmyPDF's --rotate-pages does).
    assert rotates == ([0, 0, 0, 0] if deskew else [0, 180, 270, 90])
    texts, layer = sidecar.read_text().split("\f"), pdf_text(output).split("\f")
    for index in range(4):
        # (deskewed, "the north pier" may read "the-north pier")
        assert squash("timber and iron") in squash(texts[index]), index
        assert squash("timber and iron") in squash(layer[index]), index
        _, (width, height) = rendered_lightness(output, index)
        assert height > width, index
    # The reading kept for each page is the upright one's.
    assert all((r.reading.confidence or 0) > 70 for r in run.pages.values())


def _words(text: str) -> list[str]:
    return text.split()


@pytest.mark.corpus
@pytest.mark.slow
def test_a_turned_page_reads_as_the_same_page_upright(corpus: Path, tmp_path: Path) -> None:
    """Issue 34: a page turned in its own task reads word for word as the same page
    scanned upright: the corpus's PDF of one scan at 0/90/180/270 (turned by its content)
    and the phototest page turned in its pixels (against tess__phototest.tif)."""
    from difflib import SequenceMatcher

    turned = tmp_path / "in" / "phototest-turned.pdf"
    turned.parent.mkdir()
    turned.write_bytes(img2pdf.convert([str(corpus / n) for n in ROTATED]))
    upright = corpus / "tess__phototest.tif"
    cardinal = corpus / "ocrmypdf__cardinal.pdf"
    run = run_scan2pdf(
        "convert", turned, upright, cardinal, "-o", tmp_path / "out", report=tmp_path / "r.jsonl"
    )
    assert run.returncode == 0, run.stderr
    out = tmp_path / "out"
    reference = _words((out / "tess__phototest.txt").read_text())
    pages = (out / "phototest-turned.txt").read_text().split("\f")
    cardinal_pages = (out / "ocrmypdf__cardinal.txt").read_text().split("\f")
    layer = pdf_text(out / "ocrmypdf__cardinal.pdf").split("\f")
    assert len(pages) == 3 and len(cardinal_pages) == 4
    for index, page in enumerate(pages):
        ratio = SequenceMatcher(None, reference, _words(page)).ratio()
        assert ratio >= 0.98, (index, ratio)
    for index, page in enumerate(cardinal_pages):
        ratio = SequenceMatcher(None, _words(cardinal_pages[0]), _words(page)).ratio()
        assert ratio >= 0.98, (index, ratio)
        assert squash(page) == squash(layer[index]), index  # one reading serves both
    notes = run.by_name()["ocrmypdf__cardinal.pdf"]["notes"]
    assert sum("turned" in str(n) for n in notes) == 3
