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
