"""Killing a run midway never leaves a partial output, and the next run completes it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from .conftest import SAMPLES, SCAN2PDF, run_scan2pdf
from .helpers import pdf_pages, wait_for

PAGES = {"scanned-report": 2, "english-letter": 2, "spanish-note": 1}


def make_batch(folder: Path, copies: int = 4) -> dict[str, int]:
    """Several copies of a few samples: enough work to be interrupted in the middle."""
    expected: dict[str, int] = {}
    sources = [
        SAMPLES / "reports" / "scanned-report.pdf",
        SAMPLES / "letters" / "english-letter.tif",
        SAMPLES / "letters" / "spanish-note.png",
    ]
    for n in range(copies):
        for source in sources:
            name = f"{source.stem}-{n}{source.suffix}"
            shutil.copy(source, folder / name)
            expected[f"{source.stem}-{n}"] = PAGES[source.stem]
    return expected


def processes_with_env(marker: str) -> list[int]:
    """Processes of this run, found by a unique TMPDIR in their environment."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def assert_outputs_whole(out: Path, expected: dict[str, int]) -> None:
    for path in out.rglob("*"):
        if path.relative_to(out).parts[0] == ".scan2pdf":
            continue  # the journal's folder
        assert not path.name.startswith("."), f"temporary file left behind: {path}"
    for pdf in out.glob("*.pdf"):
        assert pdf_pages(pdf) == expected[pdf.stem], pdf  # parses, every page there
        assert pdf.with_suffix(".txt").exists(), "a PDF is only published after its sidecar"


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill-9"])
def test_interrupted_run_leaves_only_whole_outputs(tmp_path: Path, how: signal.Signals) -> None:
    src, out, tmp = tmp_path / "in", tmp_path / "out", tmp_path / "tmp"
    for folder in (src, tmp):
        folder.mkdir()
    expected = make_batch(src)
    env = {**os.environ, "TMPDIR": str(tmp)}
    with (tmp_path / "stderr").open("w") as stderr:
        proc = subprocess.Popen(
            [*SCAN2PDF, "convert", str(src), "-o", str(out), "-j", "2"],
            env=env,
            stderr=stderr,
            stdout=subprocess.DEVNULL,
        )
        wait_for(lambda: any(out.glob("*.pdf")), 120, "the first output")
        proc.send_signal(how)
        code = proc.wait(timeout=60)

    if how == signal.SIGINT:
        assert code == 130
        assert (tmp_path / "stderr").read_text().splitlines()[-1].startswith("Interrupted: ")
        assert list(tmp.glob("scan2pdf-*")) == []  # our scratch removed (pymp-* is CPython's)
        wait_for(lambda: not processes_with_env(str(tmp)), 10, "workers to be gone")
    else:
        # Orphaned workers finish at most their current file, and never write to OUTDIR.
        wait_for(lambda: not processes_with_env(str(tmp)), 120, "orphaned workers to exit")
    done = len(list(out.glob("*.pdf")))
    assert 0 < done < len(expected), "the signal should land in the middle of the batch"
    assert_outputs_whole(out, expected)

    rerun = run_scan2pdf(
        "convert", src, "-o", out, "-j", "2", report=tmp_path / "r.jsonl", env={"TMPDIR": str(tmp)}
    )
    assert rerun.returncode == 0, rerun.stderr
    statuses = [row["status"] for row in rerun.report]
    # Even a kill -9 between a file's publishing and its journal row: the next run
    # settles the row (the outputs are there), and converts nothing twice.
    assert statuses.count("skipped") == done
    assert statuses.count("skipped") + statuses.count("converted") == len(expected)
    assert_outputs_whole(out, expected)
    assert sorted(p.stem for p in out.glob("*.pdf")) == sorted(expected)
    # A kill -9 run's scratch is swept by the next run. (multiprocessing's own pymp-*
    # socket folder of the killed run stays; it is tiny and not ours to remove.)
    assert list(tmp.glob("scan2pdf-*")) == []
    # Outputs are staged in OUTDIR/.scan2pdf/staging/<run>: a killed run's folder is swept
    # by the next one, which removes its own when it ends.
    assert list((out / ".scan2pdf" / "staging").iterdir()) == []


_DIE_WHILE_PUBLISHING = """
import os, signal, sys
from dataclasses import replace
from pathlib import Path
from scan2pdf import convert
from scan2pdf.core import pipeline
from tests.engine_helpers import NULL_ENGINE

real = pipeline.commit
renamed = sys.argv[3] == "renamed"

def publish_then_die(*args, **kwargs):
    if renamed:
        real(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)  # before the journal says it is done

pipeline.commit = publish_then_die
convert([Path(sys.argv[1])], Path(sys.argv[2]), replace(NULL_ENGINE, jobs=1))
"""


@pytest.mark.parametrize("moment", ["renamed", "not-renamed"])
def test_a_kill_while_outputs_are_published_is_settled_by_the_next_run(
    tmp_path: Path, moment: str
) -> None:
    """Killed between renaming a file's outputs into place and the journal's row for it:
    the next run knows the outputs are there (not converted again); killed before the
    renames, it converts the file again."""
    from scan2pdf import convert
    from scan2pdf.state.journal import Journal, default_path

    from .engine_helpers import NULL_ENGINE, scan

    src, out = tmp_path / "in", tmp_path / "out"
    scan(src / "letter.png", pages=2, shade=7)
    killed = subprocess.run(
        [*SCAN2PDF[:1], "-c", _DIE_WHILE_PUBLISHING, str(src), str(out), moment],
        cwd=Path(__file__).parent.parent,
        capture_output=True,
        start_new_session=True,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert (out / "letter.pdf").exists() == (moment == "renamed")
    again = convert([src], out, NULL_ENGINE)
    assert (again.converted, again.skipped, again.failed) == (
        (0, 1, 0) if moment == "renamed" else (1, 0, 0)
    )
    assert pdf_pages(out / "letter.pdf") == 2
    journal = Journal(default_path(out))
    try:
        (entry,) = journal.entries()
        assert (entry.status, entry.pages) == ("converted", 2)
        assert sum(journal.conversions().values()) == 1  # one conversion on record
    finally:
        journal.close()
