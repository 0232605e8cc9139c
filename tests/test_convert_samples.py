"""End to end on samples/: real Tesseract, real worker processes, real files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pikepdf
from PIL import Image

from .conftest import SAMPLES, SamplesRun, run_scan2pdf
from .helpers import outputs, pdf_pages, pdf_text, squash

# input (relative to samples/) -> (pages, words that must be in sidecar and PDF text layer)
EXPECTED = {
    "letters/english-letter.tif": (2, ["Harbour Office Archive", "invoice", "south quay"]),
    "letters/spanish-note.png": (1, ["Biblioteca Municipal", "periódicos", "Núñez"]),
    "notices/chinese-notice.jpg": (1, ["档案馆通知", "旧报纸"]),
    "reports/scanned-report.pdf": (2, ["Annual Report 1987", "reservoir", "pumping station"]),
    "reports/digital-memo.pdf": (2, ["Memo typed on a computer", "Minutes of the meeting"]),
}
NOT_SCANS = {"make_samples.py", "README.md"}
REPORT_FIELDS = {
    "input",
    "output",
    "sidecar",
    "status",
    "reason",
    "message",
    "pages",
    "ocr_pages",
    "seconds",
    "notes",
    "confidence",
    "low_confidence_pages",
    "blank_pages",
}


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_converts_every_sample_into_a_mirrored_tree(samples_run: SamplesRun) -> None:
    run, out = samples_run.run, samples_run.outdir
    assert run.returncode == 0, run.stderr
    produced = sorted(str(p.relative_to(out)) for p in outputs(out))
    expected = sorted(
        f"{Path(rel).with_suffix(ext)}" for rel in EXPECTED for ext in (".pdf", ".txt")
    )
    assert produced == expected


def test_page_counts_and_text_in_pdf_and_sidecar(samples_run: SamplesRun) -> None:
    out = samples_run.outdir
    for rel, (pages, words) in EXPECTED.items():
        pdf, txt = out / Path(rel).with_suffix(".pdf"), out / Path(rel).with_suffix(".txt")
        assert pdf_pages(pdf) == pages, rel
        sidecar = txt.read_text(encoding="utf-8")
        assert sidecar.count("\f") == pages - 1, rel
        assert "[OCR skipped" not in sidecar
        for word in words:
            assert squash(word) in squash(sidecar), (rel, word)
            assert squash(word) in squash(pdf_text(pdf)), (rel, word)


def test_existing_text_is_kept_and_only_the_scanned_page_is_ocred(samples_run: SamplesRun) -> None:
    memo = samples_run.run.by_name()["digital-memo.pdf"]
    assert (memo["pages"], memo["ocr_pages"]) == (2, 1)
    pages = (samples_run.outdir / "reports" / "digital-memo.txt").read_text().split("\f")
    assert pages[0].startswith("Memo typed on a computer")  # from the text layer (pypdf)
    assert "Minutes of the meeting" in pages[1]  # from OCR


def test_report_has_one_object_per_input(samples_run: SamplesRun) -> None:
    run = samples_run.run
    inputs = sorted(p.name for p in SAMPLES.rglob("*") if p.is_file())
    assert sorted(run.by_name()) == inputs
    for row in run.report:
        assert set(row) == REPORT_FIELDS
    script = run.by_name()["make_samples.py"]
    assert (script["status"], script["reason"], script["output"]) == (
        "skipped",
        "unsupported",
        None,
    )
    note = run.by_name()["spanish-note.png"]
    assert note["status"] == "converted"
    assert note["notes"] == ["300 dpi assumed; the image has no DPI (see --image-dpi)"]
    assert note["output"] == str(samples_run.outdir / "letters" / "spanish-note.pdf")


def test_diagnostics_go_to_stderr_and_end_with_a_summary(samples_run: SamplesRun) -> None:
    run = samples_run.run
    assert run.stdout == ""
    lines = run.stderr.splitlines()
    assert len([line for line in lines if line.startswith("converted ")]) == len(EXPECTED)
    assert lines[-1].startswith("5 converted, 2 skipped, 0 failed; 8 pages in ")
    assert lines[-1].endswith(" pages/s)")


def test_rerun_skips_up_to_date_outputs_and_force_redoes_them(
    samples_run: SamplesRun, tmp_path: Path
) -> None:
    out = samples_run.outdir
    before = {p: p.stat().st_mtime_ns for p in outputs(out)}
    again = run_scan2pdf(
        "convert", SAMPLES, "-o", out, "-l", "eng+spa+chi_sim", report=tmp_path / "again.jsonl"
    )
    assert again.returncode == 0
    statuses = {name: (r["status"], r["reason"]) for name, r in again.by_name().items()}
    assert statuses == {name: ("skipped", "up_to_date") for name in statuses} | {
        name: ("skipped", "unsupported") for name in NOT_SCANS
    }
    assert {p: p.stat().st_mtime_ns for p in outputs(out)} == before

    forced = run_scan2pdf(
        "convert",
        SAMPLES / "reports",
        "-o",
        out / "reports",
        "--force",
        "-l",
        "eng+spa+chi_sim",
        report=tmp_path / "forced.jsonl",
    )
    assert forced.returncode == 0
    assert {r["status"] for r in forced.report} == {"converted"}


def test_inputs_are_never_modified(samples_run: SamplesRun, tmp_path: Path) -> None:
    before = tree_digest(SAMPLES)
    run_scan2pdf("convert", SAMPLES / "letters", "-o", tmp_path / "out", "-l", "eng+spa")
    assert tree_digest(SAMPLES) == before


def test_ocrmypdf_options_are_passed_through(tmp_path: Path) -> None:
    """--rotate-pages turns an upside-down page upright; --output-type pdf is not PDF/A;
    the text layer is Tesseract's own unless --pdf-renderer asks for OCRmyPDF's fpdf2."""
    with Image.open(SAMPLES / "letters" / "english-letter.tif") as page:
        page.rotate(180).save(tmp_path / "upside-down.png", dpi=(200, 200))
    plain = run_scan2pdf(
        "convert", tmp_path / "upside-down.png", "-o", tmp_path / "plain", "-q", "--no-upright"
    )
    fixed = run_scan2pdf(
        "convert",
        tmp_path / "upside-down.png",
        "-o",
        tmp_path / "fixed",
        "-q",
        "--rotate-pages",
        "--deskew",
        "--clean",
        "--optimize",
        "2",
        "--output-type",
        "pdf",
        "--pdf-renderer",
        "fpdf2",
    )
    assert plain.returncode == fixed.returncode == 0, fixed.stderr
    title = squash("Harbour Office Archive")
    assert title not in squash((tmp_path / "plain" / "upside-down.txt").read_text())
    assert title in squash((tmp_path / "fixed" / "upside-down.txt").read_text())
    assert pdfa_part(tmp_path / "plain" / "upside-down.pdf") == "2"  # auto achieved PDF/A-2b
    assert pdfa_part(tmp_path / "fixed" / "upside-down.pdf") is None
    assert "Tesseract OCR + PDF" in creator(tmp_path / "plain" / "upside-down.pdf")
    assert "OCRmyPDF fpdf2" in creator(tmp_path / "fixed" / "upside-down.pdf")


def creator(path: Path) -> str:
    """The program that drew the text layer, as OCRmyPDF records it (XMP CreatorTool)."""
    with pikepdf.open(path) as pdf:
        return str(pdf.open_metadata().get("xmp:CreatorTool"))


def pdfa_part(path: Path) -> str | None:
    with pikepdf.open(path) as pdf:
        part = pdf.open_metadata().get("pdfaid:part")
    return str(part) if part is not None else None
