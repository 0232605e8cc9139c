"""--cluster: a long file cut into page ranges that run on any worker (issue 34, item 3).

A real ``dask scheduler`` and two 1-thread ``dask worker`` processes on 127.0.0.1
(``test_cluster.py``'s), with ``ranges_preload.py``, which logs each plan and range a
worker starts and, for inputs named so, kills a worker mid-range or makes ranges slow.
Most inputs are born-digital text pages converted with OCRmyPDF's null engine (each
page's text is its own, so order and text are checked in seconds); one volume of scanned
pages is read by the real Tesseract and compared with a local run page for page.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import img2pdf
import pikepdf
import pytest
from pikepdf import Dictionary, Name
from PIL import Image

from scan2pdf.core.jobs import Job, Work
from scan2pdf.core.options import Options
from scan2pdf.execution.ranges import RANGE_PAGES, bounds, range_count
from scan2pdf.state.journal import Journal, default_path
from scan2pdf.worker.stamp import read_stamp

from .conftest import SAMPLES, Run, run_scan2pdf
from .helpers import helvetica_page, wait_for
from .test_cluster import Cluster, start_cluster, stop_cluster

distributed = pytest.importorskip("distributed")

PRELOAD = ("--preload", str(Path(__file__).with_name("ranges_preload.py")))
NULL = ("--ocr-engine", "none")
# Report fields that say how a file came out (not where, or how long it took).
FIELDS = (
    *("status", "reason", "message", "pages", "ocr_pages", "notes"),
    *("confidence", "low_confidence_pages", "blank_pages"),
)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    running = start_cluster(tmp_path_factory.mktemp("dask"), 2, *PRELOAD)
    try:
        yield running
    finally:
        stop_cluster(running)


@pytest.fixture
def ready(cluster: Cluster) -> Cluster:
    """The cluster with both worker threads up (a test may have killed one: its nanny
    starts another), so that the coordinator sees two threads and cuts files."""
    with distributed.Client(cluster.address, timeout="10s") as client:
        wait_for(lambda: sum(client.nthreads().values()) == 2, 60, "two worker threads")
    return cluster


# ---- inputs -----------------------------------------------------------------------------


def text_volume(target: Path, pages: int) -> Path:
    """A born-digital PDF whose page N reads "Page N of NAME" (Helvetica, not embedded)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with pikepdf.new() as pdf:
        for number in range(1, pages + 1):
            words = f"Page {number} of {target.stem}".encode()
            content = b"BT /F1 18 Tf 72 700 Td (" + words + b") Tj ET"
            pdf.pages.append(helvetica_page(pdf, content))
        pdf.save(target)
    return target


def scanned_volume(target: Path, work: Path) -> Path:
    """16 scanned pages from samples/: the report's two pages over and over, the English
    letter, the same letter upside down (page 11: the upright check turns it), a blank
    page (14) and the Spanish note."""
    work.mkdir(parents=True, exist_ok=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    letter = Image.open(SAMPLES / "letters" / "english-letter.tif")
    letter.rotate(180).save(work / "turned.tif", dpi=(300, 300))
    Image.new("L", (1240, 1754), 255).save(work / "blank.png", dpi=(150, 150))
    singles = {}
    for name, image in {
        "letter": SAMPLES / "letters" / "english-letter.tif",
        "turned": work / "turned.tif",
        "blank": work / "blank.png",
        "note": SAMPLES / "letters" / "spanish-note.png",
    }.items():
        singles[name] = work / f"{name}.pdf"
        singles[name].write_bytes(img2pdf.convert(str(image)))
    order = ["r0", "r1", "letter", "r0", "r1", "r0", "r1", "r0", "r1", "r0", "turned"]
    order += ["r1", "r0", "blank", "note", "r1"]
    with pikepdf.new() as out, pikepdf.open(SAMPLES / "reports" / "scanned-report.pdf") as report:
        opened = {name: pikepdf.open(path) for name, path in singles.items()}
        for name in order:
            source = report.pages[int(name[1])] if name[0] == "r" else opened[name].pages[0]
            out.pages.append(source)
        out.save(target)
        for pdf in opened.values():
            pdf.close()
    return target


# ---- what is compared -------------------------------------------------------------------


def convert(src: Path, out: Path, *args: str, cluster: Cluster | None = None) -> Run:
    where = ("--cluster", cluster.address) if cluster else ("-j", "2")
    report = out.with_name(f"{out.name}.jsonl")
    run = run_scan2pdf("convert", src, "-o", out, *where, *args, report=report)
    assert run.returncode in (0, 1), run.stderr
    return run


def fields(run: Run) -> dict[str, dict[str, object]]:
    return {name: {f: row[f] for f in FIELDS} for name, row in run.by_name().items()}


def page_texts(sidecar: Path) -> list[str]:
    return sidecar.read_text(encoding="utf-8").split("\f")


def rotations(pdf: Path) -> list[int]:
    with pikepdf.open(pdf) as document:
        return [int(page.obj.get("/Rotate", 0)) for page in document.pages]


def started(src: Path) -> list[str]:
    """The plans and ranges workers started for ``src`` (``ranges_preload.py``'s log)."""
    log = Path(f"{src.absolute()}.ranges.log")
    return [line.rsplit(" ", 1)[0] for line in log.read_text().splitlines()] if log.exists() else []


def pdfa_findings(pdf: Path) -> list[str]:
    """What pikepdf's PDF/A-2b check finds, object numbers left out: it does not read
    extension schemas, so scan2pdf's declared XMP properties are findings in every
    output, local or not; anything else would be the assembly's."""
    from pikepdf.pdfa import validate_written

    report = validate_written(pdf, "2b")
    return sorted(re.sub(r" at obj \d+ \d+", "", str(found)) for found in report.findings)


def leftovers(out: Path) -> list[Path]:
    cluster = out / ".scan2pdf" / "cluster"
    return [p for p in cluster.rglob("*") if p.is_file()] if cluster.exists() else []


# ---- where a file is cut ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("pages", "threads", "count"),
    [
        (40, 1, 1),  # one thread: nothing to share
        (7, 2, 1),  # fewer than two ranges' worth
        (8, 2, 2),  # the tail shape's volume: two ranges of 4
        (12, 2, 2),  # three would leave a thread idle at the end: two of 6
        (16, 2, 4),
        (40, 2, 4),  # at most two ranges a thread
        (40, 3, 6),
        (8, 3, 2),  # fewer ranges than threads: no range under RANGE_PAGES
        (500, 40, 80),
    ],
)
def test_a_file_is_cut_into_ranges_of_at_least_four_pages_two_a_thread(
    pages: int, threads: int, count: int
) -> None:
    assert range_count(pages, threads) == count
    if count > 1:
        sizes = [len(cut) for cut in bounds(pages, count)]
        assert sum(sizes) == pages and min(sizes) >= RANGE_PAGES - 1
        assert max(sizes) - min(sizes) <= 1


def test_bounds_leave_ranges_empty_when_preflight_finds_fewer_pages() -> None:
    assert bounds(10, 4) == [range(0, 3), range(3, 6), range(6, 8), range(8, 10)]
    assert bounds(3, 4) == [range(0, 1), range(1, 2), range(2, 3), range(3, 3)]


def test_a_ranges_notes_name_the_documents_pages() -> None:
    from scan2pdf.worker.ranges import shift_pages

    assert shift_pages("page 2 turned 180° to read upright: detector 15.2", 8) == (
        "page 10 turned 180° to read upright: detector 15.2"
    )
    assert shift_pages("the text layer of page(s) 1, 3 looks unreadable", 4) == (
        "the text layer of page(s) 5, 7 looks unreadable"
    )
    assert shift_pages("OCRmyPDF's own check of the finished PDF stopped", 4) == (
        "OCRmyPDF's own check of the finished PDF stopped"
    )


def test_the_coordinator_assembles_without_loading_ocrmypdf() -> None:
    """Assembly runs in the coordinator, which never loads OCRmyPDF (a cluster run's
    coordinator needs none of it): nothing it imports for volumes brings it in."""
    import subprocess
    import sys

    probe = (
        "import sys; import scan2pdf.execution.cluster, scan2pdf.worker.assemble; "
        "print('ocrmypdf' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr


# ---- on the cluster ---------------------------------------------------------------------


@pytest.mark.parametrize("storage", ["shared", "send"])
def test_volumes_are_cut_and_assembled_as_a_local_run_makes_them(
    ready: Cluster, tmp_path: Path, storage: str
) -> None:
    """A 20-page PDF and an 8-frame TIFF, each cut into ranges (the log says so): the
    same pages in the same order with the same text, report and journal as locally; one
    stamped XMP, one OutputIntent, no PDF/A finding a local output lacks; nothing left
    in the cluster folder; ``scan2pdf verify`` finds every output as published."""
    src = tmp_path / "in"
    text_volume(src / "volume.pdf", 20)
    frames = [Image.new("L", (850, 1100), 255 - 9 * n) for n in range(8)]
    frames[0].save(src / "frames.tif", save_all=True, append_images=frames[1:], dpi=(100, 100))
    local = convert(src, tmp_path / "local", *NULL)
    storing = ("--cluster-storage", storage)
    remote = convert(src, tmp_path / "remote", *NULL, *storing, cluster=ready)

    assert sorted(started(src / "volume.pdf")) == [
        "plan 4",
        *(f"range {n} {1 + 5 * n} 5" for n in range(4)),
    ]
    assert sorted(started(src / "frames.tif")) == ["plan 2", "range 0 1 4", "range 1 5 4"]
    assert fields(remote) == fields(local)
    for name in ("volume", "frames"):
        mine, theirs = tmp_path / "remote" / f"{name}.pdf", tmp_path / "local" / f"{name}.pdf"
        assert page_texts(mine.with_suffix(".txt")) == page_texts(theirs.with_suffix(".txt"))
        assert rotations(mine) == rotations(theirs)
        assert pdfa_findings(mine) == pdfa_findings(theirs)
        with pikepdf.open(mine) as pdf, pikepdf.open(theirs) as other:
            assert len(pdf.Root.get("/OutputIntents", [])) == len(
                other.Root.get("/OutputIntents", [])
            )
            assert pdf.open_metadata().pdfa_status == other.open_metadata().pdfa_status
        stamp = read_stamp(mine)
        assert {k: v for k, v in stamp.items() if k != "ConversionDate"} == {
            k: v for k, v in read_stamp(theirs).items() if k != "ConversionDate"
        }
    assert page_texts(tmp_path / "remote" / "volume.txt")[16].strip() == "Page 17 of volume"
    entries = Journal(default_path(tmp_path / "remote")).entries()
    assert sorted((Path(e.identity).name, e.status) for e in entries) == [
        ("frames.tif", "converted"),
        ("volume.pdf", "converted"),
    ]
    assert leftovers(tmp_path / "remote") == []
    audit = run_scan2pdf("verify", tmp_path / "remote")
    assert audit.returncode == 0, audit.stdout + audit.stderr


@pytest.mark.slow
def test_a_scanned_volume_read_in_ranges_reads_as_it_does_locally(
    ready: Cluster, tmp_path: Path
) -> None:
    """Real Tesseract: the page turned upright (11) and the blank one (14) are in later
    ranges, so their notes and quality say the document's page numbers, as locally."""
    src = tmp_path / "in"
    scanned_volume(src / "scans.pdf", tmp_path / "pages")
    local = convert(src, tmp_path / "local")
    remote = convert(src, tmp_path / "remote", cluster=ready)

    assert sorted(started(src / "scans.pdf"))[0] == "plan 4"
    assert fields(remote) == fields(local)
    row = remote.by_name()["scans.pdf"]
    notes = row["notes"]
    assert isinstance(notes, list) and any("page 11 turned 180°" in n for n in notes)
    assert row["blank_pages"] == [14]
    mine, theirs = tmp_path / "remote" / "scans.pdf", tmp_path / "local" / "scans.pdf"
    assert page_texts(mine.with_suffix(".txt")) == page_texts(theirs.with_suffix(".txt"))
    assert rotations(mine) == rotations(theirs)
    assert rotations(mine)[10] != 0
    assert pdfa_findings(mine) == pdfa_findings(theirs)


def test_a_worker_killed_mid_range_costs_that_range_only(ready: Cluster, tmp_path: Path) -> None:
    src = tmp_path / "in"
    text_volume(src / "kill-volume.pdf", 16)
    local = convert(src, tmp_path / "local", *NULL)
    remote = convert(src, tmp_path / "remote", *NULL, cluster=ready)

    assert Path(f"{src / 'kill-volume.pdf'}.killed").exists()  # a worker did die
    ranges = [line for line in started(src / "kill-volume.pdf") if line.startswith("range")]
    assert sorted(ranges) == sorted(
        [*(f"range {n} {1 + 4 * n} 4" for n in range(4)), "range 1 5 4"]
    )
    assert fields(remote) == fields(local)
    assert page_texts(tmp_path / "remote" / "kill-volume.txt") == page_texts(
        tmp_path / "local" / "kill-volume.txt"
    )
    assert set(Journal(default_path(tmp_path / "remote")).conversions().values()) == {1}
    assert leftovers(tmp_path / "remote") == []


@pytest.mark.slow
def test_timeout_is_per_range(ready: Cluster, tmp_path: Path) -> None:
    """Four ranges of 1.5 s on two threads take over 3 s, and each is within --timeout
    2.5; a range that takes 6 s fails its file ``timeout``, saying which pages."""
    src = tmp_path / "in"
    text_volume(src / "slow-volume.pdf", 16)
    text_volume(src / "stuck-volume.pdf", 16)
    began = time.monotonic()
    run = convert(src, tmp_path / "out", *NULL, "--timeout", "2.5", cluster=ready)

    rows = run.by_name()
    assert rows["slow-volume.pdf"]["status"] == "converted"
    assert float(str(rows["slow-volume.pdf"]["seconds"])) > 2.5
    stuck = rows["stuck-volume.pdf"]
    assert (stuck["reason"], stuck["message"]) == (
        "timeout",
        "It took longer than --timeout 2.5 s (pages 1-4 of it, one range). "
        "Raise --timeout if the file is just long, or convert it alone to find the problem.",
    )
    assert not (tmp_path / "out" / "stuck-volume.pdf").exists()
    assert leftovers(tmp_path / "out") == []
    # The stuck range's thread cannot be stopped: let it finish before the next test.
    wait_for(lambda: time.monotonic() - began > 7, 30, "the stuck range")


def test_cancel_stops_every_range_and_leaves_nothing_behind(ready: Cluster, tmp_path: Path) -> None:
    from scan2pdf.execution.cluster import ClusterExecutor

    src, out = tmp_path / "in", tmp_path / "out"
    volume = text_volume(src / "slow-volume.pdf", 16)
    options = Options(ocr_engine="none")
    job = Job(
        str(volume),
        volume,
        "pdf",
        out / "slow-volume.pdf",
        out / "slow-volume.txt",
        options,
        index=7,
        work=Work(16, 1.0),
    )
    executor = ClusterExecutor(ready.address, out, "shared", [src])
    try:
        assert executor.capacity == 8  # two threads seen: the file will be cut
        executor.submit(job)

        def ranges_running() -> bool:  # the plan back, its ranges sent (collect does it)
            assert executor.collect(0.05, False) == []
            return any(line.startswith("range") for line in started(volume))

        wait_for(ranges_running, 30, "a range")
        assert executor.in_flight == 1
        executor.cancel(7)
        assert executor.in_flight == 0
        with distributed.Client(ready.address, timeout="10s") as client:

            def ours() -> list[str]:
                keys = client.run_on_scheduler(
                    lambda dask_scheduler: [str(k) for k in dask_scheduler.tasks]
                )
                return [k for k in keys if k.startswith("scan2pdf-range")]

            wait_for(lambda: ours() == [], 10, "the scheduler to forget the ranges")
        # The ranges already running finish on their threads (SLOW s), and write nothing.
        time.sleep(2.5)
        assert executor.collect(0.1, False) == []
        assert leftovers(out) == []
    finally:
        executor.close()
    assert not (out / ".scan2pdf" / "cluster").exists() or leftovers(out) == []
    assert not (out / "slow-volume.pdf").exists()


def link_target(pdf_path: Path) -> int:
    """The page (0-based) that page 1's first link goes to."""
    with pikepdf.open(pdf_path) as pdf:
        link = pdf.pages[0].obj.Annots[0]
        return pdf.pages.index(pikepdf.Page(link.Dest[0]))


def test_a_volume_whose_pages_refer_to_each_other_is_converted_whole(
    ready: Cluster, tmp_path: Path
) -> None:
    """A link on page 1 goes to page 9: cut apart, it would point into a range's copy of
    that page. Such a file is converted whole by its plan task (the link kept, as
    locally); one that fails preflight (a dynamic XFA form) fails as it does locally."""
    src = tmp_path / "in"
    linked = text_volume(src / "linked.pdf", 12)
    with pikepdf.open(linked, allow_overwriting_input=True) as pdf:
        link = Dictionary(
            Type=Name.Annot,
            Subtype=Name.Link,
            Rect=[72, 690, 300, 720],
            Border=[0, 0, 0],
            Dest=pikepdf.Array([pdf.pages[8].obj, Name.Fit]),
        )
        pdf.pages[0].obj.Annots = pdf.make_indirect(pikepdf.Array([pdf.make_indirect(link)]))
        pdf.save(linked)
    form = text_volume(src / "form.pdf", 12)
    with pikepdf.open(form, allow_overwriting_input=True) as pdf:
        pdf.Root.NeedsRendering = True
        pdf.save(form)
    local = convert(src, tmp_path / "local", *NULL)
    remote = convert(src, tmp_path / "remote", *NULL, cluster=ready)

    assert started(linked) == ["plan 2"]  # no range had pages to run
    assert started(form) == ["plan 2"]
    assert fields(remote) == fields(local)
    assert remote.by_name()["form.pdf"]["reason"] == "xfa"
    assert link_target(tmp_path / "remote" / "linked.pdf") == 8
    assert page_texts(tmp_path / "remote" / "linked.txt") == page_texts(
        tmp_path / "local" / "linked.txt"
    )
    assert leftovers(tmp_path / "remote") == []
