"""The one engine, fast: naming, identity, reuse, resume and retry through the real pipeline
with OCRmyPDF's null OCR engine (no Tesseract), in seconds."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

from scan2pdf import Feed, FeedTraits, Input, Pipeline, convert, retry
from scan2pdf.core.options import Options
from scan2pdf.state.journal import Journal, default_path

from .conftest import SAMPLES
from .engine_helpers import NULL_ENGINE, scan
from .helpers import outputs, pdf_pages


def names(out: Path) -> list[str]:
    return [str(p.relative_to(out)) for p in outputs(out)]


def test_same_stems_and_same_relative_paths_get_outputs_of_their_own(tmp_path: Path) -> None:
    a, b, out = tmp_path / "a", tmp_path / "b", tmp_path / "out"
    scan(a / "scan.pdf.tif", pages=1, shade=1)  # wants scan.pdf.pdf, and keeps it
    scan(a / "scan.png", pages=2, shade=2)
    scan(a / "scan.tif", pages=3, shade=3)
    scan(b / "scan.png", pages=4, shade=4)
    report = convert([a, b], out, NULL_ENGINE)
    assert (report.converted, report.failed) == (4, 0)
    pages = {name: pdf_pages(out / name) for name in names(out) if name.endswith(".pdf")}
    assert pages == {"scan.pdf": 2, "scan.pdf.pdf": 1, "scan.tif.pdf": 3, "scan.png.pdf": 4}
    # Again: the same names, nothing converted again.
    again = convert([a, b], out, NULL_ENGINE)
    assert (again.converted, again.skipped) == (0, 4)
    assert {name: pdf_pages(out / name) for name in pages} == pages


def test_identity_is_the_absolute_path_and_reports_name_it(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    scan(src / "sub" / "x.png")
    convert([src], out, NULL_ENGINE, report_path=tmp_path / "r.jsonl")
    (line,) = [json.loads(x) for x in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert line["input"] == str(src / "sub" / "x.png")
    assert line["output"] == str(out / "sub" / "x.pdf")
    (entry,) = Journal(default_path(out)).entries()
    assert (entry.identity, entry.output) == (line["input"], line["output"])


def test_a_copy_gets_copies_of_the_outputs_and_the_first_keeps_its_own(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    scan(src / "first.png", pages=1, shade=7)
    convert([src], out, NULL_ENGINE)
    shutil.copy(src / "first.png", src / "second.png")
    report = convert([src], out, NULL_ENGINE)
    assert (report.converted, report.skipped) == (1, 1)
    assert names(out) == ["first.pdf", "first.txt", "second.pdf", "second.txt"]
    assert (out / "first.pdf").read_bytes() == (out / "second.pdf").read_bytes()


def test_a_rename_under_an_input_folder_moves_the_outputs(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    scan(src / "old.png", shade=9)
    convert([src], out, NULL_ENGINE)
    (src / "old.png").rename(src / "new.png")
    report = convert([src], out, NULL_ENGINE)
    assert report.converted == 1
    assert names(out) == ["new.pdf", "new.txt"]
    statuses = {Path(e.identity).name: e.status for e in Journal(default_path(out)).entries()}
    assert statuses == {"old.png": "moved", "new.png": "reused"}


def test_outputs_never_move_when_the_rename_is_not_evident(tmp_path: Path) -> None:
    """The earlier input lay outside this run's INPUT folders: its outputs are copied."""
    out = tmp_path / "out"
    first = scan(tmp_path / "one" / "scan.png", shade=11)
    convert([first], out, NULL_ENGINE)
    moved = tmp_path / "two" / "other.png"
    moved.parent.mkdir()
    first.rename(moved)
    convert([moved.parent], out, NULL_ENGINE)
    assert names(out) == ["other.pdf", "other.txt", "scan.pdf", "scan.txt"]


def test_an_input_is_never_overwritten_by_its_own_output(tmp_path: Path) -> None:
    """``scan2pdf convert d/report.pdf -o d``."""
    folder = tmp_path / "d"
    folder.mkdir()
    shutil.copy(SAMPLES / "reports" / "scanned-report.pdf", folder / "report.pdf")
    before = (folder / "report.pdf").read_bytes()
    result = convert([folder / "report.pdf"], folder, NULL_ENGINE)
    assert result.converted == 1
    assert (folder / "report.pdf").read_bytes() == before
    assert pdf_pages(folder / "report.pdf.pdf") == 2


def test_retry_with_two_option_groups_reports_both_groups(tmp_path: Path) -> None:
    out = tmp_path / "out"
    broken = tmp_path / "a" / "broken.pdf"
    broken.parent.mkdir()
    broken.write_bytes(b"%PDF-1.4\n%%EOF\n")
    other = tmp_path / "b" / "broken.pdf"
    other.parent.mkdir()
    other.write_bytes(b"%PDF-1.4\nnot a pdf at all\n%%EOF\n")
    convert([broken], out, NULL_ENGINE)
    convert(
        [other],
        out / "b",
        Options(ocr_engine="none", image_dpi=200),
        journal_path=default_path(out),
    )
    report_file = tmp_path / "retry.jsonl"
    report = retry(out, report_path=report_file)
    lines = [json.loads(x) for x in report_file.read_text().splitlines()]
    assert sorted(line["input"] for line in lines) == sorted([str(broken), str(other)])
    assert report.failed == 2 and {line["reason"] for line in lines} == {"corrupt"}


def test_a_stop_before_the_first_file_ends_interrupted_with_nothing_written(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    scan(src / "x.png")
    stop = threading.Event()
    stop.set()
    # Issue 35: a stop asked for through stop= returns the Report of what was done,
    # marked interrupted (it raised KeyboardInterrupt, as Ctrl-C does).
    report = convert([src], out, NULL_ENGINE, stop=stop)
    assert report.interrupted and report.total == 0
    assert outputs(out) == []


def test_the_pipeline_takes_any_feed_and_yields_results_as_they_finish(tmp_path: Path) -> None:
    """The public engine, fed by hand: what archives, the API and watch plug into."""
    out = tmp_path / "out"
    files = [scan(tmp_path / f"p{n}.png", pages=n + 1, shade=n) for n in range(3)]
    feed = Feed(
        Input(f"batch-7/page-{n}", path, "image", Path("batch-7"), f"page-{n}.png")
        for n, path in enumerate(files)
    )
    results = list(Pipeline(out, NULL_ENGINE).run(feed))
    assert sorted(str(r.input) for r in results) == [
        "batch-7/page-0",
        "batch-7/page-1",
        "batch-7/page-2",
    ]
    assert {r.status for r in results} == {"converted"}
    assert [pdf_pages(out / "batch-7" / f"page-{n}.pdf") for n in range(3)] == [1, 2, 3]
    # A drop-style feed with the same identities and new content: new inputs, new names.
    changed = [scan(tmp_path / f"q{n}.png", shade=50 + n) for n in range(3)]
    drops = Feed(
        (
            Input(f"batch-7/page-{n}", p, "image", Path("batch-7"), f"page-{n}.png")
            for n, p in enumerate(changed)
        ),
        FeedTraits(drops=True),
    )
    again = list(Pipeline(out, NULL_ENGINE).run(drops))
    assert sorted(r.output.name for r in again if r.output) == [
        "page-0.png.pdf",
        "page-1.png.pdf",
        "page-2.png.pdf",
    ]
    assert [pdf_pages(out / "batch-7" / f"page-{n}.pdf") for n in range(3)] == [1, 2, 3]
