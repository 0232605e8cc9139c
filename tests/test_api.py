"""The Python API: the same engine as the CLI, for programs that embed scan2pdf."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scan2pdf import ExitCode, FileResult, Options, convert, convert_async
from scan2pdf.errors import MissingDependencyError, UsageError

from .conftest import SAMPLES
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

    with pytest.warns(DeprecationWarning, match="use scan2pdf.aconvert"):
        call = convert_async([tmp_path / "in"], tmp_path / "out", Options(jobs=1))
    again = asyncio.run(call)
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


def python_blocks(markdown: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", markdown, flags=re.S)


def run_program(source: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """A program saved as a file and run as a user runs it: python ex.py, no pytest."""
    (cwd / "ex.py").write_text(source)
    return subprocess.run(
        [sys.executable, "ex.py"], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def test_the_readme_examples_run_as_written(tmp_path: Path) -> None:
    """Each README example saved as a script and run as a user runs it. No
    ``if __name__ == "__main__":`` guard, as tutorials write it: workers start without
    re-running the script (they used to die at start-up, every file `crashed`)."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    text_of, batch, gathered, streamed, engine = python_blocks(readme)[:5]
    assert all("__main__" not in block for block in (text_of, batch, gathered, streamed))
    shutil.copytree(SAMPLES / "letters", tmp_path / "scans")

    done = run_program(text_of, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Biblioteca Municipal")
    assert not list(tmp_path.glob("**/*.pdf"))  # no PDF left behind

    done = run_program(batch, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("2 converted, 0 skipped, 0 failed; 3 pages in ")
    assert (tmp_path / "out" / "english-letter.pdf").exists()

    (tmp_path / "scans" / "notes.txt").write_text("not a scan")
    done = run_program(gathered, tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[2] == "scans/notes.txt failed: unsupported"
    assert re.fullmatch(r"scans/english-letter.tif \d\d+ words", lines[0])
    assert re.fullmatch(r"scans/spanish-note.png \d\d+ words", lines[1])

    done = run_program(streamed.replace('"out/"', '"searchable/"'), tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "converted english-letter.tif 2" in lines
    assert "converted spanish-note.png 1" in lines
    assert "skipped notes.txt None" in lines
    pages = [line for line in lines if "english-letter.tif: page" in line]
    assert pages == ["  english-letter.tif: page 1 of 2", "  english-letter.tif: page 2 of 2"]
    assert lines.index(pages[1]) < lines.index("converted english-letter.tif 2")

    (tmp_path / "batch-7").mkdir()
    for n in range(2):
        text_image(tmp_path / "batch-7" / f"p{n}.png", f"Loose page number {n}")
    done = run_program(engine, tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(done.stdout.splitlines()) == [
        f"batch-7/p{n}.png converted {tmp_path / 'out' / 'batch-7' / f'p{n}.pdf'}" for n in range(2)
    ]


def test_gathered_async_calls_in_a_plain_script(tmp_path: Path) -> None:
    files = [
        str(SAMPLES / "letters" / "spanish-note.png"),
        str(SAMPLES / "notices" / "chinese-notice.jpg"),
    ]
    program = f"""
import asyncio
from scan2pdf import Options, aconvert

async def main():
    files = {files!r}
    runs = [aconvert([f], f"out/{{n}}", Options(jobs=1)) for n, f in enumerate(files * 3)]
    reports = await asyncio.gather(*runs)
    print(sum(r.converted for r in reports), sum(r.failed for r in reports))

asyncio.run(main())
"""
    done = run_program(program, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["6", "0"]
