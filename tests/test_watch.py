"""scan2pdf watch: the loop's logic, fast and exact; then the real service in a subprocess
against real folders, always waiting for outcomes with deadlines (no fixed sleeps)."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from scan2pdf.errors import UsageError
from scan2pdf.service.claims import Claims
from scan2pdf.service.inbox import Settler, is_temporary, scan
from scan2pdf.service.watch import WatchSettings
from scan2pdf.state.journal import Journal, default_path

from .conftest import SAMPLES, SCAN2PDF
from .engine_helpers import ten_page_pdf
from .helpers import pdf_pages, text_image, wait_for

NOTE = SAMPLES / "letters" / "spanish-note.png"
REPORT = SAMPLES / "reports" / "scanned-report.pdf"


# ---- the loop's logic ----------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_settler_waits_for_stillness_and_a_parse() -> None:
    clock = Clock()
    settler = Settler(settle=2.0, give_up=10.0, clock=clock)
    path = Path("scan.pdf")
    assert settler.observe(path, 100, 1) == 0.0
    clock.now = 1.5
    assert settler.observe(path, 200, 2) == 0.0  # it grew: the clock starts again
    clock.now = 3.0
    still = settler.observe(path, 200, 2)
    assert still == 1.5 and not settler.ready(path, still, lambda: True)
    clock.now = 3.6
    still = settler.observe(path, 200, 2)
    assert settler.ready(path, still, lambda: True)
    assert not settler.ready(path, still, lambda: False)  # still, but not whole yet
    clock.now = 11.6
    assert settler.ready(path, settler.observe(path, 200, 2), lambda: False)  # gives up: fails


def test_a_pdf_that_opens_only_repaired_waits_for_give_up() -> None:
    clock = Clock()
    settler = Settler(settle=2.0, give_up=10.0, clock=clock)
    path = Path("cut-short.pdf")
    settler.observe(path, 100, 1)
    clock.now = 2.5
    still = settler.observe(path, 100, 1)
    assert settler.ready(path, still, lambda: "whole")
    assert not settler.ready(path, still, lambda: "repaired")  # perhaps a paused writer
    clock.now = 9.9  # however long the pause, short of --give-up
    assert not settler.ready(path, settler.observe(path, 100, 1), lambda: "repaired")
    clock.now = 10.0  # then preflight says whether pages are missing (truncated)
    assert settler.ready(path, settler.observe(path, 100, 1), lambda: "repaired")


def test_a_writer_that_pauses_past_settle_never_publishes_a_short_document(
    folders: tuple[Path, Path], tmp_path: Path
) -> None:
    inbox, out = folders
    whole = ten_page_pdf(tmp_path / "whole.pdf")
    cut = len(whole) * 3 // 10
    service = Service(inbox, out, "--poll", "0.2", "--ocr-engine", "none")
    try:
        wait_for(lambda: "watching" in service.stderr(), 30, "the start-up line")
        target = inbox / "volume.pdf"
        with target.open("wb") as writer:
            writer.write(whole[:cut])  # 30%: qpdf would open it as fewer pages
            writer.flush()
            time.sleep(1.5)  # the scenario: a pause longer than --settle 1, shorter than 2
            writer.write(whole[cut:])
        wait_for(lambda: (out / "volume.pdf").exists(), 60, "the volume")
    finally:
        service.stop()
    assert pdf_pages(out / "volume.pdf") == 10


@pytest.mark.parametrize(
    "name",
    [
        ".hidden.pdf",
        "scan.pdf.part",
        "x.tmp",
        "y.crdownload",
        "~$doc.pdf",
        "Thumbs.db",
        ".DS_Store",
        "@eaDir",
        "a.swp",
    ],
)
def test_temporary_and_system_names_are_never_taken(name: str) -> None:
    assert is_temporary(name)


def test_scan_skips_special_files_and_links_out_of_the_inbox(tmp_path: Path) -> None:
    inbox, outside = tmp_path / "inbox", tmp_path / "outside"
    (inbox / "sub").mkdir(parents=True)
    outside.mkdir()
    (inbox / "sub" / "real.pdf").write_bytes(b"%PDF-1.4")
    (outside / "secret.pdf").write_bytes(b"%PDF-1.4")
    (inbox / "link-out.pdf").symlink_to(outside / "secret.pdf")
    (inbox / "link-in.pdf").symlink_to(inbox / "sub" / "real.pdf")
    os.mkfifo(inbox / "pipe.pdf")
    (inbox / "scan.tif.part").write_bytes(b"half")
    (inbox / ".scan2pdf").mkdir()
    (inbox / ".scan2pdf" / "claimed.pdf").write_bytes(b"%PDF-1.4")
    assert sorted(str(p.relative_to(inbox)) for p in scan(inbox)) == ["link-in.pdf", "sub/real.pdf"]


def test_unsafe_layouts_are_refused(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    with pytest.raises(UsageError) as refused:
        WatchSettings(inbox, inbox / "out").check()
    assert refused.value.message == (
        f"The output folder '{inbox / 'out'}' is inside the inbox '{inbox}', so its files "
        "would be taken as new scans. Put it outside the inbox, or in a hidden folder (.name) "
        "inside it, which is never watched."
    )
    with pytest.raises(UsageError, match="The done folder"):
        WatchSettings(inbox, tmp_path / "out", done_dir=inbox).check()
    WatchSettings(inbox, inbox / ".out", failed_dir=tmp_path / "failed").check()  # hidden: fine


def test_dead_owners_claims_come_back_then_one_claim_wins(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    (inbox / "sub").mkdir(parents=True)
    # A watcher on this host that died (its pid no longer runs) left a claim behind. The
    # service recovers such claims at start, before it claims anything itself.
    host = socket.gethostname()
    dead = inbox / ".scan2pdf" / "claims" / f"{host}-999999"
    (dead / "deep").mkdir(parents=True)
    (dead / "deep" / "lost.tif").write_bytes(b"II*\0")
    dead.with_name(f"{dead.name}.pid").write_text("999999")
    assert Claims.recover(inbox) == 1
    assert (inbox / "deep" / "lost.tif").exists() and not dead.exists()

    scan_file = inbox / "sub" / "scan.pdf"
    scan_file.write_bytes(b"%PDF-1.4")
    mine = Claims(inbox)
    claimed = mine.claim(scan_file)
    assert claimed == mine.root / "sub" / "scan.pdf" and claimed.exists()
    assert mine.claim(scan_file) is None  # gone: another claimer (here, we) took it first
    mine.release_all()  # a clean stop puts unfinished claims back
    assert scan_file.exists() and not mine.root.exists()


# ---- the real service ------------------------------------------------------------------------


class Service:
    def __init__(self, inbox: Path, out: Path, *args: str) -> None:
        self.inbox, self.out = inbox, out
        self.log = out.parent / f"watch-{time.monotonic_ns()}.log"
        self.proc = subprocess.Popen(
            [*SCAN2PDF, "watch", str(inbox), "-o", str(out), "--settle", "1", "-j", "2", *args],
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("w"),
        )

    def stop(self, sig: signal.Signals = signal.SIGTERM, deadline: float = 30) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=deadline)

    def stderr(self) -> str:
        return self.log.read_text()


@pytest.fixture
def folders(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    yield inbox, out


def outputs(out: Path) -> list[str]:
    return sorted(str(p.relative_to(out)) for p in out.rglob("*.pdf"))


def test_service_converts_drops_and_bad_files_never_stall_it(
    folders: tuple[Path, Path], tmp_path: Path
) -> None:
    inbox, out = folders
    service = Service(inbox, out, "--rescan", "2", "--give-up", "4")
    try:
        wait_for(lambda: "watching" in service.stderr(), 30, "the start-up line")
        assert service.stderr().splitlines()[0].startswith(f"scan2pdf 0.1.0: watching {inbox} (")
        (inbox / "2026" / "march").mkdir(parents=True)
        shutil.copy(REPORT, inbox / "2026" / "march" / "report.pdf")
        (inbox / "broken.pdf").write_bytes(b"%PDF-1.7\n%%EOF\n")  # beyond any repair
        (inbox / "readme.txt").write_text("not a scan")
        os.mkfifo(inbox / "pipe.pdf")
        (tmp_path / "secret.png").write_bytes(NOTE.read_bytes())
        (inbox / "outside.png").symlink_to(tmp_path / "secret.png")
        wait_for(lambda: (out / "2026" / "march" / "report.pdf").exists(), 60, "the report")
        wait_for(
            lambda: (inbox / ".scan2pdf" / "failed" / "broken.pdf.error.json").exists(),
            90,
            "the broken PDF to be given up on",
        )
        shutil.copy(NOTE, inbox / "later.png")  # the service is still serving
        wait_for(lambda: (out / "later.pdf").exists(), 60, "a file dropped later")
    finally:
        code = service.stop()
    assert code == 130
    assert outputs(out) == ["2026/march/report.pdf", "later.pdf"]
    assert pdf_pages(out / "2026" / "march" / "report.pdf") == 2
    done = inbox / ".scan2pdf" / "done"
    assert sorted(str(p.relative_to(done)) for p in done.rglob("*") if p.is_file()) == [
        "2026/march/report.pdf",
        "later.png",
    ]
    error = json.loads((inbox / ".scan2pdf" / "failed" / "broken.pdf.error.json").read_text())
    assert (error["input"], error["reason"]) == (str(inbox / "broken.pdf"), "corrupt")
    assert (inbox / ".scan2pdf" / "failed" / "readme.txt").exists()
    # Special files and links out of the inbox are not touched at all.
    assert (inbox / "pipe.pdf").exists() and (inbox / "outside.png").is_symlink()
    assert not list((inbox / ".scan2pdf" / "claims").iterdir())  # a clean stop leaves none


def test_copies_same_stems_and_restarted_counters_keep_every_output(
    folders: tuple[Path, Path],
) -> None:
    """The engine issue's hot-folder losses, with Tesseract: nothing is moved or replaced."""
    inbox, out = folders
    service = Service(inbox, out)
    try:
        wait_for(lambda: "watching" in service.stderr(), 30, "the start-up line")
        text_image(inbox / "scan0001.png", "First page of the first batch", fmt="PNG")
        done = inbox / ".scan2pdf" / "done"
        wait_for(lambda: (done / "scan0001.png").exists(), 60, "the first scan to be done")
        shutil.copy(done / "scan0001.png", inbox / "resent.png")  # the same scan, resent
        text_image(inbox / "scan0001.tif", "Same stem in another format", fmt="TIFF")
        wait_for(lambda: len(outputs(out)) == 3, 90, "the copy and the same stem")
        text_image(inbox / "scan0001.png", "The counter restarted here", fmt="PNG")
        wait_for(lambda: len(outputs(out)) == 4, 60, "the restarted counter")
    finally:
        assert service.stop() == 130
    assert outputs(out) == ["resent.pdf", "scan0001.pdf", "scan0001.png.pdf", "scan0001.tif.pdf"]
    texts = {name: (out / name).with_suffix(".txt").read_text() for name in outputs(out)}
    assert "first batch" in texts["scan0001.pdf"] and "first batch" in texts["resent.pdf"]
    assert "another format" in texts["scan0001.tif.pdf"]
    assert "counter restarted" in texts["scan0001.png.pdf"]
    history = Journal(default_path(out)).conversions()
    assert sum(history.values()) == 3  # the resent scan was copied, not OCRed again


def test_slowly_written_tiff_is_taken_once_and_whole(folders: tuple[Path, Path]) -> None:
    inbox, out = folders
    frames = [
        text_image(out.parent / f"f{n}.png", f"Frame number {n}", fmt="PNG") for n in range(4)
    ]
    images = [Image.open(f) for f in frames]
    whole = out.parent / "whole.tif"
    images[0].save(whole, save_all=True, append_images=images[1:], compression="tiff_deflate")
    data = whole.read_bytes()
    service = Service(inbox, out, "--settle", "2")
    try:
        wait_for(lambda: "watching" in service.stderr(), 30, "the start-up line")
        with (inbox / "slow.tif").open("wb") as scanner:  # a scanner writing over 4 seconds
            for start in range(0, len(data), len(data) // 8 + 1):
                scanner.write(data[start : start + len(data) // 8 + 1])
                scanner.flush()
                time.sleep(0.5)
        wait_for(lambda: (out / "slow.pdf").exists(), 90, "the slow TIFF")
    finally:
        service.stop()
    assert pdf_pages(out / "slow.pdf") == 4
    history = Journal(default_path(out)).conversions()
    assert list(history.values()) == [1]


def test_kill9_at_random_points_loses_nothing(folders: tuple[Path, Path]) -> None:
    inbox, out = folders
    dropped = []
    for n in range(6):
        text_image(inbox / f"page-{n}.png", f"Dropped page {n}", fmt="PNG")
        dropped.append(f"page-{n}.png")
    chance = random.Random(6)
    for _ in range(3):
        service = Service(inbox, out)
        time.sleep(chance.uniform(1.0, 5.0))
        service.stop(signal.SIGKILL)
    service = Service(inbox, out)
    done = inbox / ".scan2pdf" / "done"
    try:
        wait_for(lambda: len(list(done.glob("*.png"))) == len(dropped), 120, "every original")
    finally:
        service.stop()
    assert sorted(p.name for p in done.glob("*.png")) == sorted(dropped)  # none lost
    assert outputs(out) == sorted(n.replace(".png", ".pdf") for n in dropped)
    history = Journal(default_path(out)).conversions()
    contents = {}
    for (_, content, _), count in history.items():
        contents[content] = contents.get(content, 0) + count
    assert set(contents.values()) == {1}  # each scan OCRed exactly once


def test_a_second_watcher_on_one_outdir_is_a_standby_that_takes_over(
    folders: tuple[Path, Path],
) -> None:
    inbox, out = folders
    first = Service(inbox, out, "--poll", "0.5")
    second: Service | None = None
    try:
        wait_for(lambda: "watching" in first.stderr(), 30, "the first service")
        second = Service(inbox, out, "--poll", "0.5")
        standby = second
        wait_for(lambda: "waiting" in standby.stderr(), 30, "the standby's line")
        assert (
            f"waiting: the output folder is being written by another scan2pdf (pid "
            f"{first.proc.pid} on {socket.gethostname()}, 'scan2pdf watch', since "
        ) in standby.stderr()
        for n in range(3):
            text_image(inbox / f"shared-{n}.png", f"Shared inbox page {n}", fmt="PNG")
        done = inbox / ".scan2pdf" / "done"
        wait_for(lambda: len(list(done.glob("*.png"))) == 3, 120, "the first three")
        assert "watching" not in standby.stderr()  # it converted nothing meanwhile
        first.stop(signal.SIGKILL)
        wait_for(lambda: "watching" in standby.stderr(), 30, "the standby taking over")
        for n in range(3, 6):
            text_image(inbox / f"shared-{n}.png", f"Shared inbox page {n}", fmt="PNG")
        wait_for(lambda: len(list(done.glob("*.png"))) == 6, 120, "all six files")
    finally:
        if first.proc.poll() is None:
            first.stop()
        if second is not None:
            second.stop()
    history = Journal(default_path(out)).conversions()
    assert sum(history.values()) == 6
    assert len(outputs(out)) == 6


def test_the_service_starts_cleanly_with_poison_names_in_its_inbox(
    folders: tuple[Path, Path],
) -> None:
    inbox, out = folders
    page = NOTE.read_bytes()
    (inbox / os.fsdecode(b"bad-\xff-name.png")).write_bytes(page)
    (inbox / ("y" * 250 + ".png")).write_bytes(page + b"\0")
    (inbox / "loop").symlink_to("loop")
    os.mkfifo(inbox / "pipe.png")
    with (inbox / "giant.pdf").open("wb") as giant:  # 3 GiB of holes
        giant.write(b"%PDF-1.7\n")
        giant.truncate(3 << 30)
    service = Service(inbox, out, "--poll", "0.5", "--ocr-engine", "none")
    try:
        wait_for(lambda: "watching" in service.stderr(), 30, "the start-up line")
        shutil.copy(REPORT, inbox / "good.pdf")
        wait_for(lambda: (out / "good.pdf").exists(), 60, "the good file")
        wait_for(lambda: (out / ("y" * 250 + ".pdf")).exists(), 60, "the long name")
        failed = inbox / ".scan2pdf" / "failed"
        wait_for(lambda: any(failed.glob("bad-*.error.json")), 60, "the bad name's failure")
        wait_for(lambda: (failed / "giant.pdf.error.json").exists(), 60, "the sparse giant")
        assert service.proc.poll() is None  # still serving
        assert "bad_name" in service.stderr() and "Traceback" not in service.stderr()
    finally:
        assert service.stop() == 130


def test_convert_into_a_watched_outdir_is_refused_and_status_knows_a_writer(
    folders: tuple[Path, Path], tmp_path: Path
) -> None:
    inbox, out = folders
    src = tmp_path / "src"
    src.mkdir()
    text_image(src / "a.png", "a")
    service = Service(inbox, out, "--poll", "0.5")
    try:
        wait_for(lambda: "watching" in service.stderr(), 30, "the service")
        run = subprocess.run(
            [*SCAN2PDF, "convert", str(src), "-o", str(out)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert run.returncode == 4
        assert run.stderr.startswith(
            f"Error: The output folder '{out}' is being written by another scan2pdf (pid "
            f"{service.proc.pid} on {socket.gethostname()}, 'scan2pdf watch', since "
        )
        assert run.stderr.rstrip().endswith(
            "Wait for it to finish, or choose another output folder with -o: two runs "
            "writing one folder would overwrite each other's outputs."
        )
        assert not (out / "a.pdf").exists()
    finally:
        service.stop()


def test_sigterm_mid_batch_stops_fast_and_a_restart_finishes(folders: tuple[Path, Path]) -> None:
    inbox, out = folders
    for n in range(6):
        shutil.copy(REPORT, inbox / f"report-{n}.pdf")
    for n in range(6):  # distinct contents, so none is a copy of another
        with (inbox / f"report-{n}.pdf").open("ab") as tail:
            tail.write(f"\n% copy {n}\n".encode())
    service = Service(inbox, out)
    wait_for(lambda: bool(list(out.glob("*.pdf"))), 120, "the first output")
    started = time.monotonic()
    assert service.stop(signal.SIGTERM) == 130
    assert time.monotonic() - started < 15  # bounded: workers are stopped, not waited for
    for path in out.rglob("*"):
        assert not path.name.endswith(".scan2pdf-part"), path
    for pdf in out.glob("*.pdf"):
        assert pdf_pages(pdf) == 2
    assert not any((inbox / ".scan2pdf" / "claims").rglob("*.pdf"))  # unfinished ones put back
    service = Service(inbox, out)
    try:
        wait_for(lambda: len(list(out.glob("*.pdf"))) == 6, 120, "all six after the restart")
    finally:
        service.stop()


def test_folder_moved_in_whole_is_mirrored_and_status_reads_the_live_journal(
    folders: tuple[Path, Path], tmp_path: Path
) -> None:
    inbox, out = folders
    staged = tmp_path / "staged" / "batch-7"
    staged.mkdir(parents=True)
    for n in range(3):
        text_image(staged / f"page-{n}.png", f"Moved folder page {n}", fmt="PNG")
    service = Service(inbox, out)
    try:
        wait_for(lambda: "watching" in service.stderr(), 30, "the start-up line")
        staged.rename(inbox / "batch-7")  # a whole folder arrives at once
        wait_for(lambda: len(list((out / "batch-7").glob("*.pdf"))) == 3, 90, "the folder")
        status = subprocess.run(
            [*SCAN2PDF, "status", str(out)], capture_output=True, text=True, timeout=30, check=False
        )
        assert status.returncode == 0
        assert status.stdout.splitlines()[0] == "converted  3"
    finally:
        service.stop()


@pytest.mark.slow
def test_500_files_dropped_at_once_are_all_converted(folders: tuple[Path, Path]) -> None:
    inbox, out = folders
    staged = out.parent / "staged"
    staged.mkdir()
    for n in range(500):
        image = Image.new("L", (320, 90), 255)
        ImageDraw.Draw(image).text((10, 30), f"Load test file {n}", fill=0)
        image.save(staged / f"load-{n:03d}.png", dpi=(300, 300))
    service = Service(inbox, out)
    try:
        wait_for(lambda: "watching" in service.stderr(), 30, "the start-up line")
        for path in staged.iterdir():
            path.rename(inbox / path.name)
        done = inbox / ".scan2pdf" / "done"
        wait_for(lambda: len(list(done.glob("*.png"))) == 500, 600, "all 500 files")
    finally:
        service.stop()
    assert len(list(out.glob("*.pdf"))) == 500
    assert sum(Journal(default_path(out)).conversions().values()) == 500


def test_soak_a_service_killed_again_and_again_under_hostile_drops(
    folders: tuple[Path, Path], tmp_path: Path
) -> None:
    """A few hundred drops in bursts - copies, same stems, re-drops of a name, a paused
    writer, damaged and poison files - while the service is killed with -9 three times,
    then stopped with SIGTERM: every good input converted exactly once with all its pages,
    every bad one failed with its reason, every original kept, status true to the disk."""
    from .engine_helpers import scan

    inbox, out = folders
    chance = random.Random(20261202)
    staged = tmp_path / "staged"
    good: dict[str, int] = {}  # drop path (relative) -> pages
    bursts: list[list[tuple[str, Path]]] = [[] for _ in range(5)]

    def stage(rel: str, pages: int = 1, shade: int = 0, into: int | None = None) -> None:
        source = scan(staged / f"{len(good)}-{shade}" / Path(rel).name, pages, shade)
        bursts[chance.randrange(5) if into is None else into].append((rel, source))
        good[f"{rel}#{shade}"] = pages

    for n in range(120):
        stage(f"box{n % 4}/page-{n:03d}.png", shade=n)
    for n in range(10):
        stage(f"volumes/vol-{n}.tif", pages=3, shade=120 + n)
    for n in range(10):  # copies of earlier pages under other names
        stage(f"copies/copy-{n}.png", shade=n)
    for n in range(5):  # the same stem twice in one folder
        stage(f"stems/s{n}.tif", shade=140 + n)
        stage(f"stems/s{n}.png", shade=150 + n)
    for n in range(5):  # a name dropped again later with new content
        stage(f"redrop/r{n}.png", shade=160 + n, into=0)
        stage(f"redrop/r{n}.png", shade=170 + n, into=4)
    bad = {"broken-0.pdf", "broken-1.pdf", "garbage-0.jpg", "garbage-1.jpg"}
    bad_name = os.fsdecode(b"latin-\xe9.png")

    def drop(rel: str, source: Path) -> None:
        target = inbox / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target.with_name(f".{target.name}.part"))
        os.replace(target.with_name(f".{target.name}.part"), target)  # whole, at once

    def pour(burst: int) -> None:
        for rel, source in bursts[burst]:
            drop(rel, source)

    pour(0)
    for name in bad:
        body = b"%PDF-1.7\n%%EOF\n" if name.endswith(".pdf") else b"\xff\xd8\xff\xe0 junk"
        (inbox / "bad" / name).parent.mkdir(exist_ok=True)
        (inbox / "bad" / name).write_bytes(body)
    (inbox / "bad" / bad_name).write_bytes(b"\xff\xd8\xff\xe0 junk")
    args = ("--poll", "0.3", "--ocr-engine", "none", "--give-up", "3")
    for burst in range(1, 4):
        service = Service(inbox, out, *args)
        wait_for(lambda s=service: "watching" in s.stderr(), 30, "a start")
        pour(burst)
        time.sleep(chance.uniform(0.5, 3.0))  # the scenario: a kill at a random moment
        service.stop(signal.SIGKILL)
    service = Service(inbox, out, *args)
    wait_for(lambda: "watching" in service.stderr(), 30, "the last start")
    done, failed = inbox / ".scan2pdf" / "done", inbox / ".scan2pdf" / "failed"
    # A name is dropped again only once its first file has left the inbox: copying over a
    # file still waiting there replaces it on disk, which no service could prevent.
    firsts = [done / "redrop" / f"r{n}.png" for n in range(5)]
    wait_for(lambda: all(p.exists() for p in firsts), 120, "the first drops of the names")
    pour(4)
    whole = ten_page_pdf(tmp_path / "ten.pdf")
    with (inbox / "paused.pdf").open("wb") as writer:  # a writer that pauses past --settle
        writer.write(whole[: len(whole) * 3 // 10])
        writer.flush()
        time.sleep(1.5)
        writer.write(whole[len(whole) * 3 // 10 :])
    good["paused.pdf#0"] = 10

    def disposed() -> int:
        return sum(1 for p in done.rglob("*") if p.is_file()) + sum(
            1 for p in failed.rglob("*") if p.is_file() and not p.name.endswith(".json")
        )

    total = len(good) + len(bad) + 1
    try:
        wait_for(lambda: disposed() == total, 240, "every drop disposed of")
    finally:
        assert service.stop() == 130  # SIGTERM: a clean stop

    pdfs = sorted(out.rglob("*.pdf"))
    assert len(pdfs) == len(good)  # every good drop has its own outputs
    assert sorted(pdf_pages(p) for p in pdfs) == sorted(good.values())  # whole documents
    assert all(p.with_suffix(".txt").exists() for p in pdfs)
    errors = {p.name.removesuffix(".error.json") for p in failed.rglob("*.error.json")}
    assert errors == {*bad, bad_name}  # every bad one failed, and kept
    reasons = {json.loads(p.read_text())["reason"] for p in failed.rglob("*.error.json")}
    assert reasons == {"corrupt", "bad_name"}
    assert not [p for p in inbox.rglob("*") if p.is_file() and ".scan2pdf" not in p.parts]
    history = Journal(default_path(out)).conversions()
    per_content: dict[str, int] = {}
    for (_, content, _), count in history.items():
        per_content[content] = per_content.get(content, 0) + count
    assert set(per_content.values()) == {1}  # no content OCRed twice, kills or not
    status = subprocess.run(
        [*SCAN2PDF, "status", str(out)], capture_output=True, text=True, check=True
    )
    converted = int(status.stdout.splitlines()[0].split()[1])
    assert converted == len(good)
    assert "pending    0" in status.stdout and "interrupted" not in status.stdout
