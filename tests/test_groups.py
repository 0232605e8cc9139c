"""--group-pages: a folder of page images is one document, pages in natural order."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from scan2pdf.core.groups import natural_key

from .conftest import SAMPLES, run_scan2pdf
from .helpers import pdf_pages, squash, text_image

NULL = ("--ocr-engine", "none")
MEMO = SAMPLES / "reports" / "digital-memo.pdf"


def test_natural_order() -> None:
    names = ["10.tif", "2.tif", "1.tif", "Page11.png", "page3.png", "0001b.tif", "0001a.tif"]
    assert sorted(names, key=natural_key) == [
        "0001a.tif",
        "0001b.tif",
        "1.tif",
        "2.tif",
        "10.tif",
        "page3.png",
        "Page11.png",
    ]


def test_folder_of_pages_becomes_one_searchable_pdf(tmp_path: Path) -> None:
    src, out = tmp_path / "box12", tmp_path / "out"
    volume = src / "folder3"
    volume.mkdir(parents=True)
    for number, word in ((1, "first"), (2, "second"), (10, "tenth")):
        text_image(volume / f"{number}.png", f"The {word} page")
    (volume / "checksums.md5").write_text("not a page\n")

    run = run_scan2pdf("convert", src, "-o", out, "--group-pages", report=tmp_path / "r.jsonl")

    assert run.returncode == 0, run.stderr
    rows = run.by_name()
    assert rows["folder3"]["status"] == "converted"
    assert rows["folder3"]["output"] == str(out / "folder3.pdf")
    assert rows["checksums.md5"]["reason"] == "unsupported"
    assert pdf_pages(out / "folder3.pdf") == 3
    pages = (out / "folder3.txt").read_text().split("\f")
    assert [squash(p) for p in pages] == ["thefirstpage", "thesecondpage", "thetenthpage"]
    assert not list(out.glob("folder3/*"))  # no per-page outputs


def test_which_folders_group(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    (src / "vol" / "part2").mkdir(parents=True)
    (src / "mixed").mkdir()
    for name in ("a.png", "b.png"):
        text_image(src / "vol" / name, name)  # vol has a subfolder: not a document
        text_image(src / "vol" / "part2" / name, name)  # part2 is one
        text_image(src / "mixed" / name, name)  # mixed holds a PDF: not a document
    shutil.copy(MEMO, src / "mixed" / "memo.pdf")

    run = run_scan2pdf(
        "convert", src, "-o", out, "--group-pages", *NULL, report=tmp_path / "r.jsonl"
    )

    assert run.returncode == 0, run.stderr
    made = sorted(str(p.relative_to(out)) for p in out.rglob("*.pdf"))
    assert made == [
        "mixed/a.pdf",
        "mixed/b.pdf",
        "mixed/memo.pdf",
        "vol/a.pdf",
        "vol/b.pdf",
        "vol/part2.pdf",
    ]
    assert pdf_pages(out / "vol" / "part2.pdf") == 2


def test_a_bad_page_fails_the_document_naming_it(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    (src / "book").mkdir(parents=True)
    text_image(src / "book" / "001.png", "good page")
    good = text_image(tmp_path / "x.png", "another page").read_bytes()
    (src / "book" / "002.png").write_bytes(good[:200])  # cut short

    run = run_scan2pdf(
        "convert", src, "-o", out, "--group-pages", *NULL, report=tmp_path / "r.jsonl"
    )

    assert run.returncode == 1
    row = run.by_name()["book"]
    assert (row["status"], row["reason"]) == ("failed", "corrupt")
    assert str(row["message"]).startswith("Page 2 (002.png): The image cannot be decoded")
    assert not out.joinpath("book.pdf").exists()


def test_a_changed_page_converts_the_document_again(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    (src / "book").mkdir(parents=True)
    for n in range(3):
        text_image(src / "book" / f"p{n}.png", f"page {n}")
    args = ("convert", src, "-o", out, "--group-pages", *NULL)
    assert run_scan2pdf(*args).returncode == 0
    again = run_scan2pdf(*args, report=tmp_path / "2.jsonl")
    assert [r["reason"] for r in again.report] == ["up_to_date"]

    text_image(src / "book" / "p3.png", "a page added")
    stamp = (src / "book" / "p0.png").stat().st_mtime_ns
    os.utime(src / "book" / "p3.png", ns=(stamp, stamp))  # an old mtime proves nothing
    third = run_scan2pdf(*args, report=tmp_path / "3.jsonl")
    assert [r["status"] for r in third.report] == ["converted"]
    assert pdf_pages(out / "book.pdf") == 4
