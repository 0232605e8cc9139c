"""Damaged inputs get a specific reason (``corrupt`` and the like), never ``internal_error``:
a generated set of broken files through convert and through watch, null OCR engine."""

from __future__ import annotations

import io
import random
import shutil
from pathlib import Path

import pikepdf
import pytest
from click.testing import CliRunner
from PIL import Image

from scan2pdf import convert
from scan2pdf.cli.commands import cli
from scan2pdf.cli.status import review_lines
from scan2pdf.core.options import Options
from scan2pdf.core.quality import Quality
from scan2pdf.errors import TruncatedPdfError
from scan2pdf.state.journal import Entry, Seen
from scan2pdf.worker.preflight import prepare

from .conftest import SAMPLES
from .engine_helpers import NULL_ENGINE, ScriptedWatch, scan, ten_page_pdf
from .helpers import pdf_pages

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
            # truncated: a PDF cut short, which the watch service refuses
            assert reason in {"corrupt", "unreadable", "too_large", "truncated"}, (result, message)
        elif result.status == "converted":  # never a short document plainly converted
            assert not str(result.input).endswith(".pdf") or any(
                "cut short" in note for note in result.notes
            ), result


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


# ---- PDFs cut short: converted with the pages they have, noted, listed for review ---------

CUT_NOTE = (
    "PDF cut short, repaired by qpdf (cross-reference table rebuilt): it stops before its "
    "end, as when its writer has not finished or a copy was cut; {count} could be read "
    "and were converted, {missing}"
)


def test_a_pdf_cut_short_converts_the_pages_it_has_with_a_note(tmp_path: Path) -> None:
    whole = ten_page_pdf(tmp_path / "whole.pdf")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "volume.pdf").write_bytes(whole[: len(whole) * 3 // 10])
    seen: list[object] = []
    convert([tmp_path / "in"], tmp_path / "out", NULL_ENGINE, on_result=seen.append)
    (result,) = seen
    assert (result.status, result.pages) == ("converted", 3)
    assert result.notes == (
        CUT_NOTE.format(count="3 of the 10 pages it lists", missing="the other 7 are missing"),
    )
    assert pdf_pages(tmp_path / "out" / "volume.pdf") == 3
    review = CliRunner().invoke(cli, ["status", str(tmp_path / "out"), "--review"])
    assert review.exit_code == 0, review.output
    assert review.output == (
        f"    -  {tmp_path / 'out' / 'volume.pdf'}: cut short: 3 of the 10 pages it lists "
        "converted, the other 7 are missing\n"
    )


def test_pages_a_cut_short_pdf_never_received_are_left_out_not_made_blank(
    tmp_path: Path,
) -> None:
    """qpdf writes the page tree and every page's dictionary first, their content after:
    cut at 30%, it opens as 10 pages of which only the first 2 have their scans."""
    with pikepdf.open(io.BytesIO(ten_page_pdf(tmp_path / "pil.pdf"))) as pdf:
        pdf.save(tmp_path / "whole.pdf")
    whole = (tmp_path / "whole.pdf").read_bytes()
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "volume.pdf").write_bytes(whole[: len(whole) * 3 // 10])
    seen: list[object] = []
    convert([tmp_path / "in"], tmp_path / "out", NULL_ENGINE, on_result=seen.append)
    (result,) = seen
    assert (result.status, result.pages) == ("converted", 2)
    assert result.notes == (
        CUT_NOTE.format(count="2 of the 10 pages it lists", missing="the other 8 are missing"),
    )
    assert pdf_pages(tmp_path / "out" / "volume.pdf") == 2


def test_a_pdf_cut_short_before_its_first_page_is_whole_is_corrupt(tmp_path: Path) -> None:
    whole = ten_page_pdf(tmp_path / "whole.pdf")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "volume.pdf").write_bytes(whole[: len(whole) // 10])  # page 1 of 10
    seen: list[object] = []
    convert([tmp_path / "in"], tmp_path / "out", NULL_ENGINE, on_result=seen.append)
    (result,) = seen
    assert (result.status, result.reason) == ("failed", "corrupt")
    assert result.message.startswith(
        "The PDF is cut short (it stops before its end, as when its writer has not finished "
        "or a copy was cut), and none of its pages is whole."
    )


def test_a_finished_pdf_with_a_page_gone_is_not_whole_either(tmp_path: Path) -> None:
    """It ends with %%EOF, but page 5's object is destroyed: qpdf rebuilds 9 pages and says
    it dropped one, so it is converted as 9 pages, noted, and the watch service refuses it."""
    data = ten_page_pdf(tmp_path / "whole.pdf")
    with pikepdf.open(tmp_path / "whole.pdf") as pdf:
        number = pdf.pages[4].obj.objgen[0]
    start = data.index(b"\n%d 0 obj" % number) + 1
    (tmp_path / "gone.pdf").write_bytes(data[:start] + b"garbage" + data[start + 7 :])
    prepared = prepare(tmp_path / "gone.pdf", "pdf", Options(), tmp_path)
    assert prepared.pages == pdf_pages(prepared.pdf) == 9
    assert (
        prepared.repair
        == "pages missing: 9 of the 10 pages it lists converted, the other one is missing"
    )
    assert prepared.notes == [
        "PDF with pages missing, repaired by qpdf (cross-reference table rebuilt): damaged: "
        "pages its page tree lists are not in it; 9 of the 10 pages it lists could be read "
        "and were converted, the other one is missing"
    ]
    with pytest.raises(TruncatedPdfError) as refused:
        prepare(tmp_path / "gone.pdf", "pdf", Options(refuse_truncated=True), tmp_path)
    assert refused.value.detail == (
        "The PDF has pages missing (damaged: pages its page tree lists are not in it). "
        "9 of the 10 pages it lists could be read; the other one is missing."
    )


def test_a_finished_pdf_padded_with_nuls_past_its_last_kilobyte_is_not_cut_short(
    tmp_path: Path,
) -> None:
    """A preallocated file: %%EOF, then 4 KiB of NULs. Its xref is damaged, so qpdf
    repairs it, but it is finished: every page, no 'cut short', and watch takes it."""
    data = ten_page_pdf(tmp_path / "whole.pdf")
    xref = data.rindex(b"startxref")
    broken = data[:xref] + b"startxref\n999999\n%%EOF\n" + bytes(4096)
    (tmp_path / "padded.pdf").write_bytes(broken)
    prepared = prepare(tmp_path / "padded.pdf", "pdf", Options(refuse_truncated=True), tmp_path)
    assert prepared.pages == 10
    assert not any("cut short" in note for note in prepared.notes)


def entry(output: str, quality: Quality) -> Entry:
    return Entry(
        id=1,
        identity=output,
        seen=Seen(0, 0, 0),
        content=None,
        fingerprint=None,
        status="converted",
        reason=None,
        message=None,
        attempts=1,
        output=output,
        sidecar=None,
        pages=3,
        ocr_pages=3,
        quality=quality.dumps(),
    )


def test_review_lists_repaired_pdfs_first_saying_what_was_repaired() -> None:
    cut = "cut short: 3 of the 10 pages it lists converted, the other 7 are missing"
    lines = review_lines(
        [
            entry("/out/low.pdf", Quality(41.2, (), {2: 38.0})),
            entry("/out/clear.pdf", Quality(95.0, (), {1: 95.0})),
            entry("/out/cut.pdf", Quality.of({}, repair=cut)),
            entry("/out/fixed.pdf", Quality(92.0, (), {1: 92.0}, "damaged PDF repaired (x)")),
        ]
    )
    assert lines == [
        f"    -  /out/cut.pdf: {cut}",
        " 92.0  /out/fixed.pdf: damaged PDF repaired (x)",
        " 41.2  /out/low.pdf: page 2 (38)",
    ]
    assert Quality.loads(Quality(None, repair=cut).dumps()).repair == cut
