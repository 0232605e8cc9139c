"""Settings that last: scan2pdf.toml / --config, SCAN2PDF_* variables, their precedence,
per-folder tables; and the help every command ends with, and shell completion."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from scan2pdf.cli.commands import cli

from .conftest import SAMPLES
from .helpers import squash, text_image


def used_options(out: Path) -> dict[str, dict[str, object]]:
    """Each input's options as its journal row recorded them (file name -> options)."""
    db = sqlite3.connect(out / ".scan2pdf" / "journal.sqlite")
    try:
        rows = db.execute(
            "SELECT f.identity, s.options FROM files f JOIN settings s USING (fingerprint)"
        ).fetchall()
    finally:
        db.close()
    return {Path(identity).name: json.loads(options) for identity, options in rows}


@pytest.fixture
def src(tmp_path: Path) -> Path:
    (tmp_path / "in").mkdir()
    text_image(tmp_path / "in" / "page.png", "settings")
    return tmp_path / "in"


def run(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, args, env=env)
    return result.exit_code, result.stderr


def test_precedence_command_line_then_environment_then_file(
    src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "scan2pdf.toml").write_text(
        'output = "from-file"\nocr-engine = "none"\nimage_dpi = 150\n[convert]\nimage-dpi = 160\n'
    )
    out = tmp_path / "from-file"

    def dpi(env: dict[str, str] | None = None, *extra: str) -> object:
        code, err = run(["convert", str(src), "--force", "-q", *extra], env)
        assert code == 0, err
        return used_options(out)["page.png"]["image_dpi"]

    assert dpi() == 160  # [convert] over the top of the file
    assert dpi({"SCAN2PDF_IMAGE_DPI": "170"}) == 170
    both = {"SCAN2PDF_IMAGE_DPI": "170", "SCAN2PDF_CONVERT_IMAGE_DPI": "180"}
    assert dpi(both) == 180
    assert dpi(both, "--image-dpi", "190") == 190


def test_paths_in_the_file_are_relative_to_it(src: Path, tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "archive.toml").write_text('output = "out"\nocr_engine = "none"\nlanguage = ["eng"]\n')
    code, err = run(["convert", str(src), "--config", str(conf / "archive.toml"), "-q"])
    assert code == 0, err
    assert (conf / "out" / "page.pdf").is_file()


def test_unknown_keys_and_bad_files_are_refused_by_name(src: Path, tmp_path: Path) -> None:
    conf = tmp_path / "s.toml"
    conf.write_text('langauge = "spa"\n')
    code, err = run(["convert", str(src), "-o", str(tmp_path / "o"), "--config", str(conf)])
    assert code == 2
    assert f"Error: Unknown setting 'langauge' in the config file '{conf}'. Use the long name" in (
        err
    )
    conf.write_text("[watch]\ngroup-pages = true\n")  # a convert option, not a watch one
    code, err = run(["convert", str(src), "-o", str(tmp_path / "o"), "--config", str(conf)])
    assert code == 2 and "Unknown setting 'group-pages' in [watch]" in err
    conf.write_text("language = \n")
    code, err = run(["convert", str(src), "-o", str(tmp_path / "o"), "--config", str(conf)])
    assert code == 2 and f"The config file '{conf}' is not valid TOML" in err
    code, err = run(["convert", str(src), "-o", "x", "--config", str(tmp_path / "none.toml")])
    assert code == 2 and "does not exist" in err
    assert "Traceback" not in err


def test_folder_tables_choose_the_language_of_a_subtree(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    (src / "spanish").mkdir(parents=True)
    shutil.copy(SAMPLES / "letters" / "spanish-note.png", src / "spanish" / "note.png")
    text_image(src / "letter.png", "An English letter")
    conf = tmp_path / "archive.toml"
    conf.write_text('language = "eng"\n[folders."spanish/"]\nlanguage = "spa"\n')

    code, err = run(["convert", str(src), "-o", str(out), "--config", str(conf), "-q"])

    assert code == 0, err
    used = used_options(out)
    assert used["note.png"]["languages"] == ["spa"]
    assert used["letter.png"]["languages"] == ["eng"]
    assert "señoranúñez" in squash((out / "spanish" / "note.txt").read_text())


def test_folder_tables_hold_conversion_settings_only(src: Path, tmp_path: Path) -> None:
    conf = tmp_path / "s.toml"
    conf.write_text('[folders."x"]\nreport = "r.jsonl"\n')
    code, err = run(["convert", str(src), "-o", str(tmp_path / "o"), "--config", str(conf)])
    assert code == 2
    assert "Error: 'report' cannot be set per folder" in err


@pytest.mark.parametrize(
    "command", ["convert", "watch", "retry", "status", "doctor", "search", "index"]
)
def test_every_help_ends_with_an_example(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0
    tail = result.output.rstrip().splitlines()
    assert tail[-1].strip().startswith(f"scan2pdf {command}")
    assert any(line.strip().startswith("Example") for line in tail[-4:])


def test_shell_completion_scripts() -> None:
    for shell, marker in (("bash", "complete -o"), ("zsh", "compdef"), ("fish", "complete")):
        done = subprocess.run(
            [str(Path(sys.executable).parent / "scan2pdf")],  # the command users run
            env={"_SCAN2PDF_COMPLETE": f"{shell}_source", "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert marker in done.stdout, shell


@pytest.mark.parametrize(
    ("setting", "said"),
    [
        ("output = 5", "'output' in the config file '{conf}' must be a string (a path), not 5."),
        ("report = 7", "'report' in the config file '{conf}' must be a string (a path), not 7."),
        ("force = 0", "'force' in the config file '{conf}' must be true or false, not 0."),
        ("jobs = 1.5", "'jobs' in the config file '{conf}' must be a whole number, not 1.5."),
        ("language = 5", "'language' in the config file '{conf}' must be a string, not 5."),
        (
            "image-dpi = [1, 2]",
            "'image-dpi' in the config file '{conf}' must be a whole number, not [1, 2].",
        ),
        ("[convert]\njobs = true", "'jobs' in [convert] in the config file '{conf}' must be"),
    ],
)
def test_settings_of_the_wrong_type_are_refused_by_name(
    src: Path, tmp_path: Path, setting: str, said: str
) -> None:
    """Issue 35: a value of the wrong type is a usage error naming the key (exit 2), never
    a traceback, and never taken (jobs = 1.5 and language = 5 were)."""
    conf = tmp_path / "s.toml"
    conf.write_text(setting + "\n")
    code, err = run(["convert", str(src), "-o", str(tmp_path / "o"), "--config", str(conf)])
    assert code == 2, err
    assert said.format(conf=conf) in " ".join(err.split()), err
    assert "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_a_config_file_that_is_not_utf8_is_refused(src: Path, tmp_path: Path) -> None:
    conf = tmp_path / "s.toml"
    conf.write_bytes(b'language = "espa\xf1ol"\n')
    code, err = run(["convert", str(src), "-o", str(tmp_path / "o"), "--config", str(conf)])
    assert code == 2, err
    assert f"The config file '{conf}' is not UTF-8 text" in " ".join(err.split()), err
