"""The Python API: the same engine as the CLI, for programs that embed scan2pdf."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from scan2pdf import ExitCode, FileResult, Options, convert, convert_async
from scan2pdf.errors import MissingDependencyError, UsageError

from .helpers import text_image


def test_convert_and_convert_async(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    text_image(tmp_path / "in" / "page.png", "Embedded callers")
    seen: list[FileResult] = []

    report = convert([tmp_path / "in"], tmp_path / "out", Options(jobs=1), on_result=seen.append)

    assert (report.converted, report.skipped, report.failed) == (1, 0, 0)
    assert report.exit_code() == ExitCode.OK
    assert [r.output for r in seen] == [tmp_path / "out" / "page.pdf"]
    assert "Embedded callers" in (tmp_path / "out" / "page.txt").read_text()

    again = asyncio.run(convert_async([tmp_path / "in"], tmp_path / "out", Options(jobs=1)))
    assert (again.converted, again.skipped) == (0, 1)


def test_api_raises_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="is the input folder"):
        convert([tmp_path], tmp_path)
    with pytest.raises(MissingDependencyError, match="not installed: klingon"):
        convert([tmp_path], tmp_path / "out", Options(languages=("klingon",)))
    with pytest.raises(UsageError, match="--jobs must be at least 1"):
        Options(jobs=0)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("languages", "asked", "used"),
    [
        (("eng",), "auto", "sandwich"),
        (("eng", "chi_sim"), "auto", "sandwich"),
        (("eng", "ara"), "auto", "fpdf2"),  # right to left: OCRmyPDF's renderer handles it
        (("heb",), "sandwich", "sandwich"),  # asked for explicitly: as asked
        (("eng",), "fpdf2", "fpdf2"),
    ],
)
def test_text_layer_renderer(languages: tuple[str, ...], asked: str, used: str) -> None:
    assert Options(languages=languages, pdf_renderer=asked).renderer == used


def test_renderer_is_part_of_the_options_fingerprint() -> None:
    """Outputs drawn by another renderer are not 'up to date' for this one."""
    assert Options().fingerprint() != Options(pdf_renderer="fpdf2").fingerprint()
