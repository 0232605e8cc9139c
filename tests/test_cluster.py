"""--cluster: a real `dask scheduler` and two real `dask worker` processes on 127.0.0.1,
real Tesseract; the same outputs, journal and report as a local run, and faults."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from scan2pdf.state.journal import Journal, default_path

from .conftest import SAMPLES, SCAN2PDF, Run, run_scan2pdf
from .helpers import pdf_pages, text_image, wait_for

pytest.importorskip("distributed")
DASK = str(Path(sys.executable).parent / "dask")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Cluster:
    address: str
    scheduler: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]]
    logs: Path

    def workers_ready(self, count: int) -> bool:
        text = (self.logs / "scheduler.log").read_text()
        return text.count("Register worker") >= count

    def add_worker(self, name: str, *extra: str, threads: int = 1) -> subprocess.Popen[bytes]:
        worker = subprocess.Popen(
            [
                DASK,
                "worker",
                self.address,
                "--nthreads",
                str(threads),
                "--host",
                "127.0.0.1",
                "--no-dashboard",
                "--name",
                name,
                *extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=(self.logs / f"{name}.log").open("w"),
            start_new_session=True,  # its own group: kill -9 takes the nanny and worker
        )
        self.workers.append(worker)
        return worker


def start_cluster(logs: Path, workers: int = 2, *extra: str, threads: int = 1) -> Cluster:
    logs.mkdir(parents=True, exist_ok=True)
    port = free_port()
    scheduler = subprocess.Popen(
        [DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        stdout=subprocess.DEVNULL,
        stderr=(logs / "scheduler.log").open("w"),
        start_new_session=True,
    )
    cluster = Cluster(f"tcp://127.0.0.1:{port}", scheduler, [], logs)
    for n in range(workers):
        cluster.add_worker(f"w{n}", *extra, threads=threads)
    wait_for(lambda: cluster.workers_ready(workers), 60, "the workers to register")
    return cluster


def stop_cluster(cluster: Cluster) -> None:
    for process in (*cluster.workers, cluster.scheduler):
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    running = start_cluster(tmp_path_factory.mktemp("dask"))
    try:
        yield running
    finally:
        stop_cluster(running)


def start_convert(src: Path, out: Path, address: str, report: Path) -> subprocess.Popen[str]:
    """``convert --cluster`` in the background; returns once its first file is reported."""
    proc = subprocess.Popen(
        [
            *SCAN2PDF,
            "convert",
            str(src),
            "-o",
            str(out),
            "--cluster",
            address,
            "--report",
            str(report),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(lambda: report.exists() and report.read_text().count("\n") >= 1, 120, "a file")
    return proc


def sidecars(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): p.read_text() for p in sorted(out.rglob("*.txt"))}


def pages(out: Path) -> dict[str, int]:
    return {str(p.relative_to(out)): pdf_pages(p) for p in sorted(out.rglob("*.pdf"))}


@pytest.mark.parametrize("storage", ["auto", "send"])
def test_a_cluster_run_matches_a_local_run(cluster: Cluster, tmp_path: Path, storage: str) -> None:
    src = tmp_path / "in"
    shutil.copytree(SAMPLES / "letters", src / "letters")
    shutil.copytree(SAMPLES / "reports", src / "reports")
    args = ("-l", "eng+spa")
    local = run_scan2pdf("convert", src, "-o", tmp_path / "local", *args, report=tmp_path / "l")
    assert local.returncode == 0, local.stderr

    remote = run_scan2pdf(
        "convert",
        src,
        "-o",
        tmp_path / "remote",
        *args,
        "--cluster",
        cluster.address,
        "--cluster-storage",
        storage,
        report=tmp_path / "r.jsonl",
    )

    assert remote.returncode == 0, remote.stderr
    assert pages(tmp_path / "remote") == pages(tmp_path / "local")
    assert sidecars(tmp_path / "remote") == sidecars(tmp_path / "local")
    assert {(r["status"], r["reason"]) for r in remote.report} == {("converted", None)}
    entries = Journal(default_path(tmp_path / "remote")).entries()
    assert {e.status for e in entries} == {"converted"} and len(entries) == 4
    again = run_scan2pdf(
        "convert",
        src,
        "-o",
        tmp_path / "remote",
        *args,
        "--cluster",
        cluster.address,
        report=tmp_path / "again.jsonl",
    )
    assert {r["reason"] for r in again.report} == {"up_to_date"}  # the same journal rules
    assert not (tmp_path / "remote" / ".scan2pdf" / "cluster").exists() or not any(
        (tmp_path / "remote" / ".scan2pdf" / "cluster").rglob("*.pdf")
    )


def test_a_worker_killed_mid_run_has_its_file_done_elsewhere(tmp_path: Path) -> None:
    running = start_cluster(tmp_path / "dask")
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for n in range(8):
        text_image(src / f"page-{n}.png", f"Page {n} survives a dead worker", fmt="PNG")
    try:
        proc = start_convert(src, out, running.address, tmp_path / "r.jsonl")
        victim = running.workers[0]
        os.killpg(victim.pid, signal.SIGKILL)  # nanny and worker, mid-run
        victim.wait()
        running.add_worker("late")  # a worker that joins mid-run gets work
        _, err = proc.communicate(timeout=300)
    finally:
        stop_cluster(running)
    assert proc.returncode == 0, err
    assert sorted(p.name for p in out.glob("*.pdf")) == [f"page-{n}.pdf" for n in range(8)]
    history = Journal(default_path(out)).conversions()
    assert set(history.values()) == {1}


POISON = ("--preload", str(Path(__file__).with_name("poison_preload.py")))
CRASHED = (
    "Dask workers died each time they ran it, also when it was run again apart from the "
    "other files that were on those workers. It likely needs more memory than a worker "
    "has: convert it alone, or on a machine with more memory."
)


def run_beside_poison(
    tmp_path: Path, innocents: list[str], workers: int, threads: int = 1
) -> tuple[Run, Cluster, Path]:
    """``convert --cluster`` of ``poison.png`` (it kills each worker that runs it: the
    preload) and ``innocents`` (one-line scans; a ``slow`` name waits on the worker), on a
    cluster of its own, stopped before returning; its logs stay readable."""
    running = start_cluster(tmp_path / "dask", workers, *POISON, threads=threads)
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    text_image(src / "poison.png", "This scan kills its worker", fmt="PNG")
    for n, name in enumerate(innocents):
        text_image(src / name, f"Page {n} is innocent", fmt="PNG")
    try:
        run = run_scan2pdf(
            "convert", src, "-o", out, "--cluster", running.address, report=tmp_path / "r.jsonl"
        )
    finally:
        stop_cluster(running)
    return run, running, out


def test_a_file_that_kills_every_worker_fails_crashed_and_the_rest_convert(
    tmp_path: Path,
) -> None:
    run, running, out = run_beside_poison(tmp_path, [f"page-{n}.png" for n in range(4)], 2)
    deaths = sum((running.logs / f"w{n}.log").read_text().count("Worker process") for n in range(2))
    assert run.returncode == 1, run.stderr
    outcome = run.by_name()["poison.png"]
    assert (outcome["status"], outcome["reason"]) == ("failed", "crashed")
    assert outcome["message"] == CRASHED
    # Dask tried it on a fresh worker each time (allowed-failures 3: four deaths) ...
    assert deaths >= 4, deaths
    # ... and no innocent file was blamed or lost.
    assert sorted(p.name for p in out.glob("*.pdf")) == [f"page-{n}.pdf" for n in range(4)]
    assert {r["status"] for n, r in run.by_name().items() if n != "poison.png"} == {"converted"}
    assert not (out / "poison.pdf").exists()


def test_files_that_shared_a_worker_with_a_killing_file_are_not_blamed(tmp_path: Path) -> None:
    """Dask charges a worker's death to every task it held (a 2-thread worker holds three:
    its saturation is 1.1 a thread), so the innocent files beside the killing one come back
    ``KilledWorker`` too; each is run again apart from the others, and converts."""
    # slow: still on the worker when it dies
    slow = [f"slow-{n}.png" for n in range(3)]
    run, running, out = run_beside_poison(tmp_path, slow, 1, threads=2)
    log = (running.logs / "scheduler.log").read_text()
    assert {r["status"] for n, r in run.by_name().items() if n != "poison.png"} == {"converted"}
    assert sorted(p.name for p in out.glob("*.pdf")) == [f"slow-{n}.pdf" for n in range(3)]
    for n in range(3):
        assert f"page {n} is innocent" in (out / f"slow-{n}.txt").read_text().lower()
    assert log.count("marked as failed because 4 workers died") > 1, log  # Dask blamed others
    assert run.returncode == 1, run.stderr
    outcome = run.by_name()["poison.png"]
    assert (outcome["status"], outcome["reason"], outcome["message"]) == (
        "failed",
        "crashed",
        CRASHED,
    )


def test_the_scheduler_going_away_stops_the_run_and_it_resumes(tmp_path: Path) -> None:
    running = start_cluster(tmp_path / "dask", workers=1)
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for n in range(6):
        text_image(src / f"page-{n}.png", f"Page {n} after the scheduler", fmt="PNG")
    report = tmp_path / "r.jsonl"
    try:
        proc = start_convert(src, out, running.address, report)
        os.killpg(running.scheduler.pid, signal.SIGKILL)
        running.scheduler.wait()
        _, err = proc.communicate(timeout=120)
    finally:
        stop_cluster(running)
    assert proc.returncode == 4
    assert f"Error: The Dask scheduler at '{running.address}' went away" in err
    assert "run the same command: the journal continues where this run stopped" in err
    assert "Traceback" not in err
    fresh = start_cluster(tmp_path / "dask2", workers=1)
    try:
        resumed = run_scan2pdf("convert", src, "-o", out, "--cluster", fresh.address)
    finally:
        stop_cluster(fresh)
    assert resumed.returncode == 0, resumed.stderr
    assert len(list(out.glob("*.pdf"))) == 6


def test_without_dask_cluster_is_refused_with_what_to_install(tmp_path: Path) -> None:
    text_image(tmp_path / "a.png", "a")
    blocked = (
        "import sys; sys.modules['distributed'] = None; "
        "from scan2pdf.cli import main; "
        f"sys.argv = ['scan2pdf', 'convert', {str(tmp_path / 'a.png')!r}, '-o', "
        f"{str(tmp_path / 'out')!r}, '--cluster', 'tcp://127.0.0.1:1']; main()"
    )
    done = subprocess.run([sys.executable, "-c", blocked], capture_output=True, text=True)
    assert done.returncode == 3
    assert done.stderr.strip() == (
        "Error: --cluster needs Dask distributed, which is not installed. Install it with: "
        "pip install 'scan2pdf[cluster]'"
    )


def test_an_unreachable_scheduler_exits_4(tmp_path: Path) -> None:
    text_image(tmp_path / "a.png", "a")
    run = run_scan2pdf(
        "convert",
        tmp_path / "a.png",
        "-o",
        tmp_path / "out",
        "--cluster",
        f"tcp://127.0.0.1:{free_port()}",
    )
    assert run.returncode == 4
    assert run.stderr.startswith("Error: Cannot reach the Dask scheduler at 'tcp://127.0.0.1:")
    assert not (tmp_path / "out").exists()


def test_watch_sends_its_drops_to_the_cluster(cluster: Cluster, tmp_path: Path) -> None:
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    log = tmp_path / "watch.log"
    service = subprocess.Popen(
        [
            *SCAN2PDF,
            "watch",
            str(inbox),
            "-o",
            str(out),
            "--settle",
            "0.5",
            "--poll",
            "0.3",
            "--cluster",
            cluster.address,
        ],
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )
    try:
        wait_for(lambda: "watching" in log.read_text(), 60, "the service")
        for n in range(3):
            text_image(inbox / f"drop-{n}.png", f"Dropped page {n}", fmt="PNG")
        wait_for(lambda: len(list(out.glob("*.pdf"))) == 3, 120, "three outputs")
    finally:
        service.send_signal(signal.SIGTERM)
        assert service.wait(60) == 130
    for n in range(3):
        assert f"droppedpage{n}" in (out / f"drop-{n}.txt").read_text().replace(" ", "").lower()


def test_a_page_over_the_pixel_budget_fails_too_large_before_a_worker_decodes_it(
    cluster: Cluster, tmp_path: Path
) -> None:
    """Dask's memory limit does not see Tesseract or Ghostscript: pages are admitted by
    their pixel count on the worker, as locally, and the worker lives on."""
    from PIL import Image

    src = tmp_path / "in"
    src.mkdir()
    Image.new("1", (40000, 30000), 1).save(src / "gigapixel.tif", compression="group4")
    text_image(src / "letter.png", "A letter of ordinary size", fmt="PNG")
    deaths = sum(log.read_text().count("Worker process") for log in cluster.logs.glob("w*.log"))
    run = run_scan2pdf(
        "convert",
        src,
        "-o",
        tmp_path / "out",
        "--cluster",
        cluster.address,
        report=tmp_path / "r.jsonl",
    )
    assert run.returncode == 1, run.stderr
    rows = run.by_name()
    assert rows["letter.png"]["status"] == "converted"
    assert (rows["gigapixel.tif"]["reason"], rows["gigapixel.tif"]["message"]) == (
        "too_large",
        "The image has 1,200 megapixels (40000x30000), more than the budget of 250. "
        "Raise --max-image-mpixels if this machine has the memory for it, "
        "or split or downsample the image first.",
    )
    assert deaths == sum(
        log.read_text().count("Worker process") for log in cluster.logs.glob("w*.log")
    )


def test_an_address_dask_cannot_parse_is_one_line_and_exit_4(tmp_path: Path) -> None:
    """Issue 35: --cluster bogus printed the right message, then (20 s later) the
    traceback of a half-made Dask Client closing itself."""
    run = run_scan2pdf(
        "convert", SAMPLES / "letters" / "spanish-note.png", "-o", tmp_path, "--cluster", "bogus"
    )
    assert run.returncode == 4
    assert run.stderr.splitlines() == [
        "Error: Cannot reach the Dask scheduler at 'bogus' (missing port number in address "
        "'bogus'). Check that 'dask scheduler' runs there and that this machine may connect."
    ]
