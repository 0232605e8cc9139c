"""The command-line contract: exact messages and exit codes, without running OCR."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from scan2pdf.cli.commands import cli
from scan2pdf.core import tools
from scan2pdf.core.options import Options

from .conftest import SAMPLES


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(autouse=True)
def fresh_tool_cache() -> Iterator[None]:
    """These tests hide programs (PATH); the cached answers must not outlive them."""
    tools.forget()
    yield
    tools.forget()


def test_missing_language_is_refused_before_any_work(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(cli, ["convert", str(SAMPLES), "-o", str(out), "-l", "eng+xyz"])
    installed = ", ".join(tools.installed_languages())
    assert result.exit_code == 3
    assert result.stderr == (
        f"Error: Tesseract language pack not installed: xyz. Installed: {installed}. "
        "Install it, for example: apt-get install tesseract-ocr-xyz\n"
    )
    assert not out.exists()  # nothing was processed


def test_rotate_pages_needs_osd_language_listed(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tools, "installed_languages", lambda: ("eng",))
    result = runner.invoke(
        cli, ["convert", str(SAMPLES), "-o", str(tmp_path / "o"), "--rotate-pages"]
    )
    assert result.exit_code == 3
    assert "Tesseract language pack not installed: osd. Installed: eng." in result.stderr


def test_missing_program_exits_3_with_install_hint(runner: CliRunner, tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    result = runner.invoke(
        cli, ["convert", str(SAMPLES), "-o", str(tmp_path / "o")], env={"PATH": str(empty)}
    )
    assert result.exit_code == 3
    assert result.stderr == (
        "Error: Required programs not found: tesseract (OCR engine), gs (PDF rendering and "
        "PDF/A). Install them, for example: apt-get install tesseract-ocr ghostscript\n"
    )


def path_with(folder: Path, **programs: str) -> str:
    """A PATH of only ``folder``, holding each named program as a link to the given one."""
    folder.mkdir(exist_ok=True)
    for name, target in programs.items():
        (folder / name).symlink_to(target)
    return str(folder)


def real(program: str) -> str:
    found = shutil.which(program)
    assert found is not None, f"{program} is part of the set-up"
    return found


def test_clean_requires_unpaper(runner: CliRunner, tmp_path: Path) -> None:
    path = path_with(tmp_path / "bin", tesseract=real("tesseract"), gs=real("gs"))
    result = runner.invoke(
        cli,
        ["convert", str(SAMPLES), "-o", str(tmp_path / "o"), "--clean"],
        env={"PATH": path},
    )
    assert result.exit_code == 3
    assert result.stderr == (
        "Error: Required program not found: unpaper (--clean). "
        "Install it, for example: apt-get install unpaper\n"
    )


def test_a_program_that_will_not_say_its_version_is_still_found(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found means on PATH: an unpaper that cannot be started for ``--version`` (here a
    file the kernel refuses to run) is reported "unknown", not "not found", so a start
    that fails once on a loaded machine does not stop a batch."""
    bin_folder = tmp_path / "bin"
    path = path_with(bin_folder, tesseract=real("tesseract"), gs=real("gs"))
    broken = bin_folder / "unpaper"
    broken.write_bytes(b"\x00not a program\n")
    broken.chmod(0o755)

    result = runner.invoke(cli, ["doctor"], env={"PATH": path})
    assert "unpaper    unknown " in result.stdout, result.stdout

    monkeypatch.setenv("PATH", path)  # no cache to clear: PATH is asked each time
    tools.check_environment(Options(clean=True))  # raises MissingDependencyError if not


def test_output_folder_may_not_be_the_input_folder(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "scan.pdf").write_bytes(b"%PDF-1.4\n")
    result = runner.invoke(cli, ["convert", str(tmp_path), "-o", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: The output folder '{tmp_path}' is the input folder '{tmp_path}'. "
        "Choose an output folder that is not an input folder (it may be inside one).\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-j", "0"], "Invalid value for '-j' / '--jobs': 0 is not in the range x>=1."),
        (
            ["--existing-text", "maybe"],
            "Invalid value for '--existing-text': 'maybe' is not one of",
        ),
        (["-l", "eng;rm"], "Error: 'eng;rm' is not a Tesseract language code."),
        (
            ["--pdf-renderer", "hocr"],
            "Invalid value for '--pdf-renderer': 'hocr' is not one of",
        ),
        (
            ["--image-dpi", "5"],
            "Invalid value for '--image-dpi': 5 is not in the range 10<=x<=4800.",
        ),
    ],
)
def test_bad_options_exit_2(
    runner: CliRunner, tmp_path: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(cli, ["convert", str(SAMPLES), "-o", str(tmp_path / "o"), *args])
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_missing_input_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["convert", str(tmp_path / "nope.tif"), "-o", str(tmp_path)])
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_doctor_lists_tools_and_languages(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["doctor"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.stdout.splitlines()}
    assert set(lines) == {"tesseract", "gs", "unpaper", "pngquant", "languages"}
    for language in ("eng", "spa", "chi_sim", "osd"):
        assert language in lines["languages"].split()
    assert lines["tesseract"].split()[1][0].isdigit()


def test_doctor_fails_when_tesseract_is_missing(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["doctor"], env={"PATH": str(tmp_path)})
    assert result.exit_code == 3
    assert "tesseract  MISSING" in result.stdout
    assert "languages  NONE" in result.stdout


def test_options_come_from_the_environment(runner: CliRunner, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    result = runner.invoke(
        cli, ["watch", str(inbox)], env={"SCAN2PDF_WATCH_OUTPUT": str(inbox / "out")}
    )
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: The output folder '{inbox / 'out'}' is inside the inbox '{inbox}', so its "
        "files would be taken as new scans. Put it outside the inbox, or in a hidden folder "
        "(.name) inside it, which is never watched.\n"
    )
    result = runner.invoke(
        cli,
        ["convert", str(SAMPLES), "-o", str(tmp_path / "o")],
        env={"SCAN2PDF_CONVERT_LANGUAGE": "xyz"},
    )
    assert result.exit_code == 3
    assert "Tesseract language pack not installed: xyz." in result.stderr


def test_a_name_cannot_forge_a_line_or_steer_the_terminal(tmp_path: Path) -> None:
    """Issue 35: a file name with a newline printed raw forged a line of its own; escape
    sequences and bidi overrides passed to the terminal. And one page is "1 page"."""
    from .conftest import run_scan2pdf
    from .helpers import text_image

    src = tmp_path / "in"
    src.mkdir()
    forged = "x.png\nconverted  fake.png -> fake.pdf (9 pages, 9 OCRed, 0.1 s)\x1b[2J\u202e.png"
    text_image(src / forged, "forged")
    run = run_scan2pdf("convert", src, "-o", tmp_path / "out", "--ocr-engine", "none", "-v")
    assert run.returncode == 0, run.stderr
    out = (run.stdout + run.stderr).splitlines()
    lines = [line for line in out if line.startswith("converted")]
    assert len(lines) == 1, lines
    assert "\\x0aconverted  fake.png" in lines[0] and "\\x1b[2J\\u202e.png" in lines[0]
    assert "(1 page, " in lines[0]
    assert any(line.startswith("1 converted, 0 skipped, 0 failed; 1 page in") for line in out)
