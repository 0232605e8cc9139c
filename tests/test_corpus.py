"""End to end on real third-party scans in ../shared/corpus, read in place.

Skipped as a whole where the corpus is absent. The files are passed as INPUT; nothing is
copied into the project or written next to them.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from .conftest import Run, run_scan2pdf
from .helpers import pdf_pages, rendered_lightness, squash
from .quality import cer

pytestmark = pytest.mark.corpus

LIGHT_ON_CLEAR = (
    "light content on a transparent background: shown as it looks on white, "
    "read from an inverted copy"
)
FALLBACK = "300 dpi assumed; the image has no DPI (see --image-dpi)"
SAYS_72 = "300 dpi assumed; the image says 72 dpi (see --image-dpi)"
WHITE = "transparency flattened onto white"
BLANK = "no text found on page(s) 1 (blank?); their sidecar pages are left empty"
LEFT = "page 1 reads poorly but was left as it is"  # how and the scores follow a colon
# Every scan in MANIFEST.md: (status, reason, pages, ocr_pages, notes)
Expect = tuple[str, str | None, int | None, int | None, list[str]]
OUTCOMES: dict[str, Expect] = {
    # clean and real-world images
    "tess__phototest.tif": ("converted", None, 1, 1, []),
    "tess__8071_093.3B.tif": ("converted", None, 1, 1, []),
    "tess__phototest-rotated-180.png": (
        "converted",
        None,
        1,
        1,
        ["page 1 turned 180° to read upright"],
    ),
    "tess__phototest-rotated-R.png": (
        "converted",
        None,
        1,
        1,
        ["page 1 turned 270° to read upright"],
    ),
    "tess__phototest-rotated-L.png": (
        "converted",
        None,
        1,
        1,
        ["page 1 turned 90° to read upright"],
    ),
    "leptonica__miniswhite.tif": ("converted", None, 1, 1, [BLANK]),
    "leptonica__lighttext.jpg": ("converted", None, 1, 1, [FALLBACK]),
    "ocrmypdf__congress.jpg": ("converted", None, 1, 1, [FALLBACK]),
    "ocrmypdf__baiona_cmyk.jpg": ("converted", None, 1, 1, [LEFT]),
    "ocrmypdf__baiona_colormapped.png": ("converted", None, 1, 1, [FALLBACK, LEFT]),
    # images without a credible DPI
    "ocrmypdf__linn.png": (
        "converted",
        None,
        1,
        1,
        ["300 dpi assumed from the page size (Letter); the image has no DPI"],
    ),
    "paperless__simple-no-dpi.png": ("converted", None, 1, 1, [FALLBACK]),
    "paperless__document.webp": (
        "converted",
        None,
        1,
        1,
        ["200 dpi assumed from the page size (Letter); the image has no DPI"],
    ),
    "tessjs__simple.pbm": ("converted", None, 1, 1, [FALLBACK]),
    "tessjs__chinese.png": (
        "converted",
        None,
        1,
        1,
        # Read with chi_tra it reads well: no orientation check.
        ["300 dpi assumed; the image says 96 dpi (see --image-dpi)"],
    ),
    "paperless__multi-page-images.tiff": (
        "converted",
        None,
        3,
        3,
        ["291 dpi assumed from the page size (Letter); the image has no DPI"],
    ),
    # alpha and EXIF
    "paperless__multi-page-images-alpha.tiff": (
        "converted",
        None,
        3,
        3,
        [WHITE, "291 dpi assumed from the page size (Letter); the image has no DPI"],
    ),
    "paperless__simple-alpha.png": ("converted", None, 1, 1, [WHITE, SAYS_72]),
    "rapidocr__white_font_color_transparent.png": (
        "converted",
        None,
        1,
        1,
        [LIGHT_ON_CLEAR],
    ),
    "rapidocr__img_exif_orientation.jpg": (
        "converted",
        None,
        1,
        1,
        ["EXIF orientation applied", SAYS_72],
    ),
    # scanned PDFs and odd encodings
    "paperless__multi-page-images.pdf": ("converted", None, 3, 3, []),
    "paperless__tagged-but-no-text.pdf": ("converted", None, 1, 1, []),
    "ocrmypdf__skew.pdf": ("converted", None, 1, 1, []),
    "ocrmypdf__cardinal.pdf": (
        "converted",
        None,
        4,
        4,
        [
            "page 2 turned 270° to read upright",
            "page 3 turned 180° to read upright",
            "page 4 turned 90° to read upright",
        ],
    ),
    "ocrmypdf__jbig2.pdf": ("converted", None, 1, 1, []),
    "ocrmypdf__kcs.pdf": ("converted", None, 1, 1, [LEFT]),
    "ocrmypdf__epson.pdf": ("converted", None, 1, 1, []),
    "ocrmypdf__acroform.pdf": ("converted", None, 1, 1, []),
    "ocrmypdf__aspect.pdf": (
        "converted",
        None,
        1,
        1,
        [
            "the scan of page(s) 1 is stretched over its page (different resolutions across "
            "and down): OCRed with square pixels, then scaled back"
        ],
    ),
    "ocrmypdf__2400dpi.pdf": (
        "converted",
        None,
        1,
        1,
        ["OCRed at 600 dpi from a 2400 dpi scan (--max-ocr-dpi); the PDF keeps the scan as it is"],
    ),
    "ocrmypdf__enormous.pdf": ("converted", None, 1, 1, [LEFT]),
    "ocrmypdf__blank.pdf": ("converted", None, 1, 1, [BLANK]),
    # PDFs with text already
    "paperless__simple-digital.pdf": ("converted", None, 1, 0, []),
    "paperless__single-page-mixed.pdf": ("converted", None, 2, 0, []),
    "ocrmypdf__type3_font_nomapping.pdf": (
        "converted",
        None,
        1,
        0,
        [
            "the text layer of page(s) 1 looks unreadable (fonts without a Unicode mapping?), "
            "so the sidecar leaves it out; --existing-text force OCRs such pages"
        ],
    ),
    # refused, each with its reason
    "ocrmypdf__invalid.pdf": ("failed", "corrupt", None, None, []),
    "ocrmypdf__skew-encrypted.pdf": ("failed", "encrypted", None, None, []),
    "paperless__password-is-test.pdf": ("failed", "encrypted", None, None, []),
    "paperless__signed.pdf": ("failed", "signed", None, None, []),
}
# The MANIFEST's language of each file: rapidocr's are Simplified Chinese, tesseract.js's
# chinese.png Traditional (read with chi_sim it comes out in simplified characters, CER 0.5
# with OCRmyPDF alone and with us alike; with chi_tra both read it exactly).
LANGUAGES = {"rapidocr__": "chi_sim", "tessjs__chinese": "chi_tra"}


def language(name: str) -> str:
    return next((lang for start, lang in LANGUAGES.items() if name.startswith(start)), "eng")


@pytest.fixture(scope="module")
def corpus_run(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Run]:
    """Every scan of the corpus in one run, each in its own language."""
    base = tmp_path_factory.mktemp("corpus")
    out = base / "out"
    rows = []
    for lang in ("eng", *LANGUAGES.values()):
        names = [n for n in sorted(OUTCOMES) if language(n) == lang]
        run = run_scan2pdf(
            "convert",
            *(corpus / n for n in names),
            "-o",
            out,
            "-l",
            lang,
            report=base / f"{lang}.jsonl",
        )
        rows += run.report
    return out, Run(1, "", "", rows)


def test_manifest_scans_are_all_covered(corpus: Path) -> None:
    manifest = (corpus / "MANIFEST.md").read_text()
    listed = set(re.findall(r"^\| `([^`]+)` \|", manifest, re.M))
    assert listed == set(OUTCOMES)


def short(notes: object) -> list[str]:
    """Notes, with how a page's orientation was decided cut off (it quotes scores)."""
    assert isinstance(notes, list)
    return [n.split(":")[0] if n.startswith("page ") else n for n in notes]


def test_every_corpus_file_has_its_outcome(corpus_run: tuple[Path, Run]) -> None:
    _, run = corpus_run
    got = {
        name: (r["status"], r["reason"], r["pages"], r["ocr_pages"], short(r["notes"]))
        for name, r in run.by_name().items()
    }
    assert got == OUTCOMES
    for name, (status, _, pages, _, _) in OUTCOMES.items():
        row = run.by_name()[name]
        if status == "converted":
            assert pdf_pages(Path(str(row["output"]))) == pages, name
        else:
            assert row["output"] is None


@pytest.mark.parametrize(
    "name",
    [
        "leptonica__miniswhite.tif",
        "ocrmypdf__baiona_cmyk.jpg",
        "tess__phototest.tif",
        "ocrmypdf__baiona_colormapped.png",
    ],
)
def test_colours_are_not_inverted(corpus_run: tuple[Path, Run], corpus: Path, name: str) -> None:
    _, run = corpus_run
    with Image.open(corpus / name) as image:
        source = ImageStat.Stat(image.convert("RGB").convert("L")).mean[0]
    output, _ = rendered_lightness(Path(str(run.by_name()[name]["output"])))
    assert abs(output - source) < 25, (output, source)


def test_webp_expectation(corpus_run: tuple[Path, Run], corpus: Path) -> None:
    out, _ = corpus_run
    pattern = (corpus / "paperless__document.webp.expect.txt").read_text().strip()
    text = " ".join((out / "paperless__document.txt").read_text().split())
    assert re.search(pattern, text, re.IGNORECASE)


def test_existing_text_layers_give_the_sidecar(corpus_run: tuple[Path, Run], corpus: Path) -> None:
    out, _ = corpus_run
    digital = (out / "paperless__simple-digital.txt").read_text()
    assert squash(digital) == squash((corpus / "paperless__simple-digital.pdf.gt.txt").read_text())
    assert "[OCR skipped" not in digital
    assert (out / "ocrmypdf__blank.txt").read_text().strip() == ""


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
    assert squash("This is some text, but in an image, also on page 1.") not in skipped
    for line in expected:
        assert squash(line) in redone, line
    assert redo.report[0]["ocr_pages"] == 2


def test_garbage_text_layer_is_ocred_with_force(corpus: Path, tmp_path: Path) -> None:
    source = corpus / "ocrmypdf__type3_font_nomapping.pdf"
    run = run_scan2pdf(
        "convert", source, "-o", tmp_path, "--existing-text", "force", report=tmp_path / "r.jsonl"
    )
    assert run.report[0]["ocr_pages"] == 1
    assert not any("unreadable" in str(note) for note in run.report[0]["notes"])
    assert "/g" not in (tmp_path / "ocrmypdf__type3_font_nomapping.txt").read_text()


def test_signed_pdf_is_converted_only_when_allowed(corpus: Path, tmp_path: Path) -> None:
    signed = corpus / "paperless__signed.pdf"
    refused = run_scan2pdf("convert", signed, "-o", tmp_path / "a", report=tmp_path / "a.jsonl")
    assert refused.returncode == 1
    assert refused.report[0]["message"] == (
        "The PDF carries a digital signature. OCR would invalidate the signature, so the file "
        "was left as it is; use --invalidate-signatures to convert it anyway (keep the original "
        "as the signed copy)."
    )
    allowed = run_scan2pdf(
        "convert",
        signed,
        "-o",
        tmp_path / "b",
        "--invalidate-signatures",
        report=tmp_path / "b.jsonl",
    )
    row = allowed.report[0]
    assert (allowed.returncode, row["status"]) == (0, "converted")
    # It is also owner-password encrypted (empty user password): the report says so.
    assert row["notes"] == ["encryption removed (no password was needed to open it)"]
    text = " ".join((tmp_path / "b" / "paperless__signed.txt").read_text().split())
    for line in (corpus / "paperless__signed.pdf.expect.txt").read_text().splitlines():
        assert line.strip().lower() in text.lower()


# ---- quality: character error rate against plain OCRmyPDF ---------------------------------


def plain_ocrmypdf(source: Path, work: Path) -> float | None:
    """CER of OCRmyPDF alone with the same options (skip text, 300 dpi for images without
    one), or None when it refuses the file."""
    sidecar = work / f"{source.name}.txt"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ocrmypdf",
            "-q",
            "-l",
            language(source.name),
            "--skip-text",
            "--image-dpi",
            "300",
            "--sidecar",
            str(sidecar),
            str(source),
            str(work / "plain.pdf"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return None
    return cer(truth(source), sidecar.read_text(encoding="utf-8"))


def truth(source: Path) -> str:
    return source.with_name(f"{source.name}.gt.txt").read_text(encoding="utf-8")


@pytest.mark.slow
def test_character_error_rate_is_no_worse_than_ocrmypdf_alone(
    corpus_run: tuple[Path, Run], corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, run = corpus_run
    rows = []
    for name in sorted(OUTCOMES):
        source = corpus / name
        if not source.with_name(f"{name}.gt.txt").exists():
            continue
        ours = cer(truth(source), Path(str(run.by_name()[name]["sidecar"])).read_text())
        rows.append((name, plain_ocrmypdf(source, tmp_path), ours))
    with capsys.disabled():
        print("\n| file | OCRmyPDF alone | scan2pdf |\n|---|---|---|")
        for name, plain, ours in rows:
            shown = "refused" if plain is None else f"{plain:.3f}"
            print(f"| {name} | {shown} | {ours:.3f} |")
    for name, plain, ours in rows:
        if plain is None:
            assert ours <= 0.05, name  # OCRmyPDF refuses it (alpha); we read it
        else:
            assert ours <= plain + 0.02, name  # 0.02: Tesseract's noise on garbage pages
    # Where preflight is what makes the difference, it makes all of it.
    for name in (
        "rapidocr__white_font_color_transparent.png",
        "paperless__simple-alpha.png",
        "paperless__multi-page-images-alpha.tiff",
        "rapidocr__img_exif_orientation.jpg",
        "paperless__simple-no-dpi.png",
        "paperless__simple-digital.pdf",
    ):
        assert dict((n, o) for n, _, o in rows)[name] == 0.0, name
