"""The first promise: the document under a name is that input's (issue 29).

Fast runs of the real engine (OCRmyPDF's null OCR engine): every drop an input of its own
in flight too, outputs bound to what was published, never written over an input or into a
folder, identities that never collide, and ``scan2pdf verify``'s findings.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import zipfile
from contextlib import closing
from dataclasses import replace
from pathlib import Path, PurePath

import pytest

from scan2pdf import convert
from scan2pdf.core.jobs import Input, Work
from scan2pdf.core.options import Options
from scan2pdf.core.pipeline import Feed, Pipeline
from scan2pdf.core.report import FileResult
from scan2pdf.core.resume import FeedTraits
from scan2pdf.state.journal import Journal, default_path

from .engine_helpers import NULL_ENGINE, scan
from .helpers import outputs, pdf_pages

SCAN2PDF = [sys.executable, "-m", "scan2pdf"]
ROOT = Path(__file__).parent.parent


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def verify(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SCAN2PDF, "verify", str(out), *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )


def drop_input(inbox: Path, name: str, claimed: Path) -> Input:
    """An input as the watch service makes it: dropped at INBOX/name, read from a claim."""
    kind = "pdf" if claimed.suffix == ".pdf" else "image"
    return Input(str(inbox / name), claimed, kind, PurePath(), name, Work())


def test_a_name_dropped_again_while_the_first_converts_is_an_input_of_its_own(
    tmp_path: Path,
) -> None:
    """The second ``x.tif`` is decided while the first is in flight (the pipeline asks the
    feed for more before it collects anything): each gets its own row, name and pages,
    and a later drop of either content gets that content's document."""
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    first = scan(tmp_path / "claims" / "1" / "x.tif", pages=5, shade=1)
    second = scan(tmp_path / "claims" / "2" / "x.tif", pages=1, shade=2)
    results: list[FileResult] = []
    feed = Feed(
        [drop_input(inbox, "x.tif", first), drop_input(inbox, "x.tif", second)],
        FeedTraits(drops=True),
    )
    Pipeline(out, NULL_ENGINE, on_result=results.append).convert(feed)
    assert sorted((r.status, r.output.name if r.output else None, r.pages) for r in results) == [
        ("converted", "x.pdf", 5),
        ("converted", "x.tif.pdf", 1),
    ]
    assert (pdf_pages(out / "x.pdf"), pdf_pages(out / "x.tif.pdf")) == (5, 1)
    with closing(Journal(default_path(out))) as journal:
        rows = journal.entries()
    assert sorted((Path(str(e.output)).name, e.content) for e in rows) == sorted(
        [("x.pdf", sha(first)), ("x.tif.pdf", sha(second))]
    )
    # The one-page scan dropped again under a new name: its own document, one page.
    again = scan(tmp_path / "claims" / "3" / "after.tif", pages=1, shade=2)
    assert sha(again) == sha(second)
    results.clear()
    Pipeline(out, NULL_ENGINE, on_result=results.append).convert(
        Feed([drop_input(inbox, "after.tif", again)], FeedTraits(drops=True))
    )
    (copied,) = results
    assert copied.status == "converted" and "copied" in copied.notes[0]
    assert pdf_pages(out / "after.pdf") == 1
    assert sha(out / "after.pdf") == sha(out / "x.tif.pdf")


def test_an_output_changed_by_hand_is_never_handed_on(tmp_path: Path) -> None:
    """Up to date and copies check the outputs against what was published."""
    src, out = tmp_path / "in", tmp_path / "out"
    scan(src / "a.png", pages=1, shade=1)
    convert([src], out, NULL_ENGINE)
    other = tmp_path / "other"
    scan(other / "z.png", pages=3, shade=9)
    convert([other], tmp_path / "elsewhere", NULL_ENGINE)
    shutil.copy(tmp_path / "elsewhere" / "z.pdf", out / "a.pdf")  # replaced by hand
    # The same scan under another name: its twin's PDF is not a's any more.
    twin = shutil.copy(src / "a.png", tmp_path / "b.png")
    results: list[FileResult] = []
    report = convert([twin], out, NULL_ENGINE, on_result=results.append)
    (copy,) = results
    assert (report.converted, copy.status) == (1, "converted")
    assert not any("copied" in n for n in copy.notes)
    assert any(f"{out / 'a.pdf'} changed since it was published" in n for n in copy.notes)
    assert pdf_pages(out / "b.pdf") == 1
    # And a itself is not up to date: converted again, its own page back in place.
    results.clear()
    report = convert([src], out, NULL_ENGINE, on_result=results.append)
    (again,) = results
    assert (report.converted, report.skipped) == (1, 0)
    assert any("changed since it was published" in n for n in again.notes)
    assert pdf_pages(out / "a.pdf") == 1
    assert verify(out).returncode == 0


def test_a_move_of_changed_outputs_converts_instead(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    scan(src / "old.png", pages=2, shade=4)
    convert([src], out, NULL_ENGINE)
    with (out / "old.pdf").open("ab") as tail:
        tail.write(b"% appended by a sync tool\n")
    (src / "old.png").rename(src / "new.png")
    results: list[FileResult] = []
    convert([src], out, NULL_ENGINE, on_result=results.append)
    (result,) = results
    assert result.status == "converted" and not any("moved" in n for n in result.notes)
    assert any("changed since it was published" in n for n in result.notes)
    assert (out / "old.pdf").exists()  # left where it was: not this input's to take
    assert pdf_pages(out / "new.pdf") == 2


def test_an_output_is_never_written_over_another_input(tmp_path: Path) -> None:
    """``convert scans/* -o scans`` with ``a.png`` and a scanned ``a.pdf``, in both
    orders: the original ``a.pdf`` is kept, byte for byte."""
    for order in ((".png", ".pdf"), (".pdf", ".png")):
        scans = tmp_path / f"scans{order[0]}"
        scan(scans / "a.png", shade=1)
        scan(tmp_path / "page.png", shade=2)
        convert([tmp_path / "page.png"], tmp_path / "made", NULL_ENGINE)
        shutil.copy(tmp_path / "made" / "page.pdf", scans / "a.pdf")
        before = sha(scans / "a.pdf")
        results: list[FileResult] = []
        inputs = [scans / f"a{suffix}" for suffix in order]
        report = convert(inputs, scans, NULL_ENGINE, on_result=results.append)
        assert (report.converted, report.failed) == (2, 0)
        assert sha(scans / "a.pdf") == before
        assert {Path(r.input).name: r.output.name for r in results if r.output} == {
            "a.png": "a.png.pdf",
            "a.pdf": "a.pdf.pdf",
        }
        shutil.rmtree(tmp_path / "made")


def test_a_folder_at_the_output_path_is_passed_over_and_nothing_is_half_published(
    tmp_path: Path,
) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    scan(src / "a.png", shade=1)
    (out / "a.pdf").mkdir(parents=True)
    for _ in range(2):  # and again: the same name, no failure
        report = convert([src], out, replace(NULL_ENGINE, force=True))
        assert (report.converted, report.failed) == (1, 0)
    assert sorted(p.name for p in outputs(out)) == ["a.png.pdf", "a.png.txt"]
    assert not (out / "a.txt").exists()


def test_a_real_folder_named_like_an_archive_member_has_an_identity_of_its_own(
    tmp_path: Path,
) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    scan(tmp_path / "member.png", shade=1)
    src.mkdir()
    with zipfile.ZipFile(src / "box.zip", "w") as archive:
        archive.write(tmp_path / "member.png", "a.png")
    scan(src / "box.zip!" / "a.png", shade=2)
    results: list[FileResult] = []
    report = convert([src], out, NULL_ENGINE, on_result=results.append)
    assert (report.converted, report.failed) == (2, 0)
    identities = {str(r.input) for r in results}
    assert len(identities) == 2
    assert f"{src}/box.zip!/a.png" in identities  # the member, as the README spells it
    again = convert([src], out, NULL_ENGINE)
    assert (again.converted, again.skipped) == (0, 2)  # each its own row: up to date
    with closing(Journal(default_path(out))) as journal:
        assert len(journal.entries()) == 2


def test_verify_names_what_differs_and_exits_by_it(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    for n in range(4):
        scan(src / f"d{n}.png", pages=2, shade=n)
    convert([src], out, NULL_ENGINE)
    clean = verify(out)
    assert (clean.returncode, clean.stdout) == (0, "")
    assert "8 outputs checked" in clean.stderr and "all as published" in clean.stderr
    (out / "d0.pdf").unlink()
    whole = (out / "d1.pdf").read_bytes()
    (out / "d1.pdf").write_bytes(whole[: len(whole) // 2])
    (out / "d2.txt").write_text("edited", encoding="utf-8")
    scan(src / "d3.png", pages=2, shade=77)  # the source changed: stale, not damage
    found = verify(out)
    assert found.returncode == 1
    lines = sorted(found.stdout.splitlines())
    assert [line.split(": ")[1].split(" (")[0] for line in lines] == [
        "missing",
        "truncated",
        "changed",
    ]
    assert "d0.pdf: missing" in lines[0] and "d1.pdf: truncated" in lines[1]
    with_sources = verify(out, "--sources", "--json")
    findings = [json.loads(line) for line in with_sources.stdout.splitlines()]
    assert sorted(f["what"] for f in findings) == [
        "changed",
        "missing",
        "stale source",
        "truncated",
    ]
    assert {f["input"] for f in findings if f["what"] == "stale source"} == {str(src / "d3.png")}
    assert verify(tmp_path / "in").returncode == 2  # no journal there: usage


_DIE_MID_REUSE = """
import os, signal, sys
from pathlib import Path
from scan2pdf import convert
from scan2pdf.core import pipeline
from tests.engine_helpers import NULL_ENGINE

moment = sys.argv[3]
renames = []
real_replace = Path.replace
real_publishing = pipeline.Journal.publishing
armed = []

def publishing(self, *args, **kwargs):
    real_publishing(self, *args, **kwargs)
    armed.append(True)
    if moment == "journalled":
        os.kill(os.getpid(), signal.SIGKILL)

def replace(self, target):
    result = real_replace(self, target)
    if armed and moment == "half-moved":
        os.kill(os.getpid(), signal.SIGKILL)  # one of the two outputs moved
    return result

real_commit = pipeline.commit
def commit(ready, staging=None):
    if moment == "half-copied":
        tmp, dst = ready.files[0]
        os.replace(tmp, dst)
        os.kill(os.getpid(), signal.SIGKILL)
    real_commit(ready, staging)

pipeline.Journal.publishing = publishing
pipeline.commit = commit
Path.replace = replace
convert([Path(p) for p in sys.argv[1].split(",")], Path(sys.argv[2]), NULL_ENGINE)
"""


@pytest.mark.parametrize("moment", ["journalled", "half-moved", "half-copied"])
def test_a_kill_while_earlier_outputs_are_reused_leaves_old_or_new_as_journalled(
    tmp_path: Path, moment: str
) -> None:
    """Copies and moves go through ``publishing`` like conversions: a kill -9 at any
    point, and the next run finds either the old outputs or the new ones, never a mix,
    and ``verify`` finds every output as published."""
    src, out = tmp_path / "in", tmp_path / "out"
    scan(src / "a.png", pages=2, shade=3)
    convert([src], out, NULL_ENGINE)
    if moment == "half-copied":
        shutil.copy(src / "a.png", src / "b.png")
    else:
        (src / "a.png").rename(src / "b.png")
    killed = subprocess.run(
        [*SCAN2PDF[:1], "-c", _DIE_MID_REUSE, str(src), str(out), moment],
        cwd=ROOT,
        capture_output=True,
        start_new_session=True,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    report = convert([src], out, NULL_ENGINE)
    assert report.failed == 0
    names = sorted(p.name for p in outputs(out))
    expected = (
        ["a.pdf", "a.txt", "b.pdf", "b.txt"] if moment == "half-copied" else ["b.pdf", "b.txt"]
    )
    assert names == expected
    assert verify(out).returncode == 0
    with closing(Journal(default_path(out))) as journal:
        conversions = sum(journal.conversions().values())
    assert conversions == 1  # the content was OCRed once: later it was only copied or moved


def test_options_keep_content_in_the_job(tmp_path: Path) -> None:
    """What the worker is told of the source (its hash, its name under INPUT)."""
    from scan2pdf.core.resume import Planned, Triage

    src, out = tmp_path / "in", tmp_path / "out"
    image = scan(src / "letters" / "smith.png", shade=1)
    staging = out / ".scan2pdf" / "staging"
    with closing(Journal(default_path(out))) as journal:
        triage = Triage(journal, out, staging, FeedTraits(roots=(src,)))
        item = Input(str(image), image, "image", PurePath("letters"), "smith.png")
        planned = triage.decide(item, Options(ocr_engine="none"))
    assert isinstance(planned, Planned)
    assert planned.job.content == sha(image)
    assert planned.job.origin == "letters/smith.png"
    assert planned.job.fingerprint == Options(ocr_engine="none").fingerprint()
    assert not os.path.isabs(planned.job.origin)


@pytest.mark.slow
def test_a_redrop_in_flight_with_real_tesseract_keeps_both_documents(tmp_path: Path) -> None:
    """The reviewer's case on the real engine: ``watch -j 1``, a long scan dropped as
    ``x.tif``, then, while it is being read, a different 1-page scan as ``x.tif``."""
    import time

    from PIL import Image

    from .engine_helpers import ScriptedWatch
    from .helpers import pdf_text, squash, text_image

    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    # Long enough to be still in flight when the second arrives (a loaded Tesseract reads
    # a line in a few tenths of a second): 16 pages, and the second made beforehand.
    volume = 16
    pages = [
        Image.open(text_image(tmp_path / f"p{n}.png", f"ALPHA volume page {n}"))
        for n in range(volume)
    ]
    pages[0].save(inbox / "x.tif", save_all=True, append_images=pages[1:], dpi=(300, 300))
    letter = tmp_path / "letter" / "x.tif"
    letter.parent.mkdir()
    Image.open(text_image(tmp_path / "b.png", "BRAVO single letter")).save(letter, dpi=(300, 300))
    with ScriptedWatch(inbox, out, options=Options(jobs=1)) as watch:
        watch.drop(inbox / "x.tif")
        claims = inbox / ".scan2pdf" / "claims"
        deadline = time.monotonic() + 60
        while not list(claims.rglob("x.tif")) and time.monotonic() < deadline:
            time.sleep(0.02)  # polling a condition with a deadline, not a fixed wait
        letter.replace(inbox / "x.tif")  # dropped whole, in one rename
        watch.drop(inbox / "x.tif")
        while (inbox / "x.tif").exists() and time.monotonic() < deadline:
            time.sleep(0.02)  # until the second is claimed (under a name of its own)
        in_flight = watch.results.empty()  # the second was claimed before the first ended
        results = watch.wait(2, deadline=120)
    assert in_flight
    assert sorted((r.status, r.pages) for r in results) == [
        ("converted", 1),
        ("converted", volume),
    ]
    assert (pdf_pages(out / "x.pdf"), pdf_pages(out / "x.tif.pdf")) == (volume, 1)
    assert "alphavolume" in squash(pdf_text(out / "x.pdf"))
    assert "bravosingle" in squash(pdf_text(out / "x.tif.pdf"))
    assert "bravo" not in squash((out / "x.txt").read_text(encoding="utf-8"))
    assert verify(out).returncode == 0
