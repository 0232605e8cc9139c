"""Throughput and memory of scan2pdf against its peers, measured side by side.

    .venv/bin/python benchmarks/bench.py [--rounds 3] [--only mixed,small,long,discovery]
        [--tools scan2pdf,floor] [--baseline DIR] [--scale 0.25]

Workloads (built in a temporary folder from samples/, plus ../shared/corpus when present):

- one-long: a 20-page scanned PDF among 13 single-page letters (60% of the pages in one
  file, the shape that left cores idle before pages were shared across files);
- two-long: two 12-page PDFs among 10 single pages;
- one-long-light, two-long-light: the same two shapes on everyday pages (letters, a typed
  report, a printout) rather than heavy magazine pages;
- tail: an 8-page PDF among 4 single pages (the volume is most of the work);
- small: 120 single-page inputs;
- long: one 48-page scanned PDF;
- mixed: ~15 files, PDFs and images of 1 to 12 pages;
- turned-volume, real-mixed: real pages only (realpages.py; left out without the corpus):
  a 40-page volume with 12 pages turned 90/180/270 degrees, and 11 loose real letters
  beside a 20-page volume with 6 pages turned;
- discovery: walking 100,000 empty placeholder files (memory must not grow with the count);
- gigapixel, coordinator: memory only, scan2pdf alone: one page of a gigapixel, and the
  null OCR engine over 200 and 2,000 tiny files (peak RSS of each process).

Tools, run in turn every round (A B C D, A B C D, ...) so that a noisy neighbour hits all
of them alike; the table shows medians and ratios, never absolute claims:

- scan2pdf, scan2pdf-no-upright: ``scan2pdf convert`` with default options (skip text,
  300 dpi fallback, the upright check on), and with ``--no-upright``;
- scan2pdf-baseline, scan2pdf-baseline-no-upright: the same from another checkout
  (``--baseline DIR``);
- loop: ``for f in ...; do ocrmypdf -j <cores> --skip-text --image-dpi 300 --sidecar ...; done``;
- parallel: OCRmyPDF's batch recipe, ``xargs -P <cores> ocrmypdf -j1 ...`` (same options);
- loop-sandwich, parallel-sandwich: both with ``--pdf-renderer sandwich``, the text layer
  scan2pdf draws by default (OCRmyPDF 17 defaults to fpdf2);
- rotate-pages: OCRmyPDF's own orientation check, ``ocrmypdf -j <cores> --rotate-pages``
  for each file of several pages, then the xargs recipe with ``--rotate-pages`` for the
  single pages;
- floor: Tesseract alone on the same pages, rasterised beforehand to grayscale PNG at
  their scan resolution (the real shapes' pages the right way up), ``tesseract PAGE - -l
  eng`` with OMP_THREAD_LIMIT=1, one process per core.

Peak memory is the largest summed RSS of the whole process tree, sampled every 50 ms; for
scan2pdf also each process's own peak (the kernel's VmHWM) by role: the coordinator, the
forkserver, each worker. The same sampler counts the Tesseracts in the tree, in all and
per worker, printed as timelines of busy readers.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import img2pdf
import pikepdf
from PIL import Image, ImageDraw, ImageSequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
import realpages
from realpages import rasterise_pdf

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
CORPUS = ROOT.parent / "shared" / "corpus"
BIN = Path(sys.executable).parent
LANG = "eng"
# Corpus scans OCRmyPDF itself accepts (no alpha), small enough for many rounds.
CORPUS_PICKS = [
    "tess__phototest.tif",
    "paperless__multi-page-images.pdf",
    "paperless__multi-page-images.tiff",
    "paperless__simple-no-dpi.png",
    "ocrmypdf__congress.jpg",
    "leptonica__lighttext.jpg",
    "tess__8071_093.3B.tif",
    "ocrmypdf__skew.pdf",
    "ocrmypdf__kcs.pdf",
]


# ---- measuring ---------------------------------------------------------------------------


def _proc_table() -> dict[int, tuple[int, int, int]]:
    """Every process on the machine: pid -> (parent pid, VmRSS KiB, VmHWM KiB), from /proc.
    VmHWM is the kernel's own high-water mark of the process's RSS, so a sampler that
    reads it every 50 ms misses at most the growth of the last 50 ms of a process."""
    table: dict[int, tuple[int, int, int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        rss, hwm = (int(fields.get(k, "0 kB").split()[0] or 0) for k in ("VmRSS", "VmHWM"))
        table[int(entry.name)] = (int(fields.get("PPid", "0").strip() or 0), rss, hwm)
    return table


def _descendants(table: dict[int, tuple[int, int, int]], root: int) -> dict[int, int]:
    """``root`` and all its descendants: pid -> parent pid."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, stack = {}, [root]
    while stack:
        pid = stack.pop()
        if pid in table:
            found[pid] = table[pid][0]
        stack.extend(children.get(pid, []))
    return found


def tree_rss_kib(root: int) -> tuple[int, int]:
    """Summed VmRSS of ``root`` and all its descendants, from /proc, and how many
    Tesseracts among them read a page (the busy slots, for the timeline): threads named
    "tesseract", which is a ``tesseract`` process's one thread (OMP_THREAD_LIMIT=1) or a
    worker thread reading with the Tesseract loaded in it (scan2pdf/worker/loaded.py)."""
    table = _proc_table()
    tree = _descendants(table, root)
    total = sum(table[pid][1] for pid in tree)
    return total, sum(_threads_named(pid, "tesseract") for pid in tree)


def _threads_named(pid: int, name: str) -> int:
    count = 0
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return 0
    for task in tasks:
        try:
            count += (task / "comm").read_text().strip() == name
        except OSError:
            continue
    return count


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


@dataclass
class Proc:
    """One process of a tool's tree, by role. In a scan2pdf run: the ``coordinator`` (the
    command's own process), its ``forkserver`` (which forks the workers), the
    ``resource-tracker`` and short ``helper`` programs it starts, and each ``worker``
    (a child of the forkserver), whose own children (OCRmyPDF's page processes,
    Ghostscript, a tesseract program) are summed into the worker's ``tree_kib``."""

    pid: int
    role: str
    number: int  # workers: 1, 2, ... in the order they started; others 0
    hwm_kib: int = 0  # the process's own peak RSS (VmHWM)
    tree_kib: int = 0  # workers: the largest summed RSS of the worker and its children


class TreeSampler:
    """Samples a tool's process tree: summed RSS, busy Tesseracts in all and per worker,
    and every process's peak by role."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.peak_kib = 0
        self.busy: list[int] = []
        # worker number -> busy Tesseracts in that worker (and its children), per sample
        self.lanes: dict[int, list[int]] = {}
        self.procs: dict[int, Proc] = {}
        self._forkservers: set[int] = set()

    def _role(self, pid: int, ppid: int) -> Proc:
        known = self.procs.get(pid)
        if known is not None:
            return known
        if pid == self.root:
            proc = Proc(pid, "coordinator", 0)
        elif ppid in self._forkservers:
            proc = Proc(pid, "worker", 1 + sum(p.role == "worker" for p in self.procs.values()))
        elif ppid == self.root:
            line = _cmdline(pid)
            if b"forkserver" in line:
                self._forkservers.add(pid)
                proc = Proc(pid, "forkserver", 0)
            else:
                proc = Proc(pid, "resource-tracker" if b"resource_tracker" in line else "helper", 0)
        else:
            proc = Proc(pid, "child", 0)
        self.procs[pid] = proc
        return proc

    def sample(self) -> None:
        table = _proc_table()
        tree = _descendants(table, self.root)
        total = busy = 0
        lane_busy: dict[int, int] = {}
        lane_rss: dict[int, int] = {}
        # Parents before children, so that a child's worker is known when it is reached.
        order = sorted(tree, key=lambda pid: self._depth(pid, tree))
        owner: dict[int, int] = {}  # pid -> worker number (0: none)
        for pid in order:
            ppid = tree[pid]
            _, rss, hwm = table[pid]
            proc = self._role(pid, ppid)
            proc.hwm_kib = max(proc.hwm_kib, hwm)
            lane = proc.number if proc.role == "worker" else owner.get(ppid, 0)
            owner[pid] = lane
            tesseracts = _threads_named(pid, "tesseract")
            total += rss
            busy += tesseracts
            if lane:
                lane_busy[lane] = lane_busy.get(lane, 0) + tesseracts
                lane_rss[lane] = lane_rss.get(lane, 0) + rss
        for proc in self.procs.values():
            if proc.role == "worker" and proc.number in lane_rss:
                proc.tree_kib = max(proc.tree_kib, lane_rss[proc.number])
        for lane in lane_busy:
            self.lanes.setdefault(lane, [0] * len(self.busy))
        for lane, series in self.lanes.items():
            series.append(lane_busy.get(lane, 0))
        self.busy.append(busy)
        self.peak_kib = max(self.peak_kib, total)

    @staticmethod
    def _depth(pid: int, tree: dict[int, int]) -> int:
        depth = 0
        while pid in tree and depth < 64:
            pid, depth = tree[pid], depth + 1
        return depth


# CPU time of a tool's whole tree, where cgroup v1's cpuacct can be written (root on these
# machines): a worker forked by a forkserver is nobody's waited-for child, so getrusage
# misses it. CPU next to wall time tells work from idle cores.
_CPUACCT = Path("/sys/fs/cgroup/cpuacct")


def _cpu_group() -> Path | None:
    group = _CPUACCT / f"scan2pdf-bench-{os.getpid()}"
    try:
        group.mkdir(exist_ok=True)
        (group / "cpuacct.usage").write_text("0")
    except OSError:
        return None
    return group


def marks(series: Sequence[int], cores: int, step: float) -> str:
    """One character per ``step`` s: the mean busy Tesseracts over it, as a digit."""
    per = max(1, round(step / _SAMPLE_EVERY))
    out = []
    for start in range(0, len(series), per):
        window = series[start : start + per]
        out.append(str(min(cores, round(sum(window) / len(window)))))
    return "".join(out)


@dataclass
class Sample:
    seconds: float
    peak_mib: float
    cpu_seconds: float | None = None
    # Busy Tesseracts every 50 ms: where cores idle, not only the total.
    busy: list[int] = field(default_factory=list)
    # scan2pdf: busy Tesseracts per worker (1, 2, ...) and the peaks of its processes.
    lanes: dict[int, list[int]] = field(default_factory=dict)
    procs: list[Proc] = field(default_factory=list)
    # scan2pdf: pages checked and turned by the upright check, files failed (its report).
    decisions: dict[str, int] = field(default_factory=dict)

    def timeline(self, cores: int, step: float = 0.5) -> str:
        return marks(self.busy, cores, step)

    def idle_share(self, cores: int) -> float:
        """Share of core-time with no Tesseract on it, from the first to the last sample."""
        if not self.busy:
            return 0.0
        return 1 - sum(min(b, cores) for b in self.busy) / (cores * len(self.busy))

    def peak_of(self, role: str) -> float:
        """The largest own peak RSS (MiB) of the processes in ``role``; 0 when none ran."""
        return max((p.hwm_kib for p in self.procs if p.role == role), default=0) / 1024

    def workers(self) -> list[Proc]:
        return sorted((p for p in self.procs if p.role == "worker"), key=lambda p: p.number)


_SAMPLE_EVERY = 0.05


def timed(
    argv: list[str],
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    ok: Sequence[int] = (0,),
) -> Sample:
    """Run a command; wall time, the peak RSS and (where a cgroup can be made) the CPU time
    of its process tree, its busy Tesseracts and its processes' peaks. An exit code not in
    ``ok`` ends the benchmark."""
    group = _cpu_group()
    procs = None if group is None else str(group / "cgroup.procs")

    def join_group() -> None:  # in the child, before exec: its whole tree is counted
        if procs is not None:
            Path(procs).write_text(str(os.getpid()))

    started = time.monotonic()
    proc = subprocess.Popen(
        argv,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=join_group,
    )
    sampler = TreeSampler(proc.pid)
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            sampler.sample()
            stop.wait(_SAMPLE_EVERY)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    code = proc.wait()
    seconds = time.monotonic() - started
    stop.set()
    thread.join()
    if code not in ok:
        raise SystemExit(f"benchmark command failed ({code}): {shlex.join(argv)}")
    cpu = None
    if group is not None:
        # A forkserver outlives the command by a moment: count it to its end.
        deadline = time.monotonic() + 10
        while (group / "cgroup.procs").read_text().strip() and time.monotonic() < deadline:
            time.sleep(0.01)
        cpu = int((group / "cpuacct.usage").read_text()) / 1e9
        with contextlib.suppress(OSError):
            group.rmdir()
    return Sample(
        seconds,
        sampler.peak_kib / 1024,
        cpu,
        sampler.busy,
        {n: s[: len(sampler.busy)] for n, s in sampler.lanes.items()},
        list(sampler.procs.values()),
    )


# ---- workloads ---------------------------------------------------------------------------


@dataclass
class Workload:
    name: str
    files: list[Path]
    pages: int = 0
    floor_pages: list[Path] = field(default_factory=list)
    # A shape with a volume in it: its timelines are shown per worker too.
    long: bool = False
    real: bool = False  # built from the corpus's real scans (issue 34)
    turned: int = 0  # pages scanned turned


# Shapes of real pages (issue 34): name -> (the corpus files it needs, its builder).
REAL_SHAPES: dict[str, tuple[list[str], Callable[[Path, float], realpages.Built]]] = {
    "turned-volume": (realpages.TURNED_VOLUME_NEEDS, realpages.turned_volume),
    "real-mixed": (realpages.REAL_MIXED_NEEDS, realpages.real_mixed),
}
LONG_SHAPES = {"one-long", "two-long", "one-long-light", "two-long-light", "tail", "long"}


def concatenated(sources: list[Path], pages: int, target: Path) -> Path:
    """A scanned PDF of ``pages`` pages, cycling through the pages of ``sources``."""
    with pikepdf.new() as out:
        opened = [pikepdf.open(s) for s in sources]
        pool = [page for pdf in opened for page in pdf.pages]
        for index in range(pages):
            out.pages.append(pool[index % len(pool)])
        out.save(target)
        for pdf in opened:
            pdf.close()
    return target


def build(work: Path, only: Sequence[str] = (), scale: float = 1.0) -> dict[str, Workload]:
    """The workloads; ``only`` names those run (whose pages the floor needs rasterised,
    and the real shapes built). ``scale`` scales the real shapes' page counts."""
    scanned = [SAMPLES / "reports" / "scanned-report.pdf"]
    images = sorted(p for p in SAMPLES.rglob("*") if p.suffix in (".tif", ".png", ".jpg"))
    mixed = work / "mixed"
    mixed.mkdir()
    files = [
        shutil.copy(p, mixed / p.name)
        for p in sorted(SAMPLES.rglob("*"))
        if p.suffix in (".tif", ".png", ".jpg", ".pdf")
    ]
    files.append(
        concatenated(
            [*scanned, SAMPLES / "reports" / "digital-memo.pdf"], 12, mixed / "long-12.pdf"
        )
    )
    extra = [CORPUS / n for n in CORPUS_PICKS if (CORPUS / n).exists()]
    for index, path in enumerate(extra):
        files.append(Path(shutil.copy(path, mixed / f"x{index:02d}-{path.name}")))
    if not extra:  # no corpus: more of our own, each with its own content
        files += [unique_copy(p, mixed, 900 + i) for i, p in enumerate(images * 2)]
    small = work / "small"
    small.mkdir()
    singles = [SAMPLES / "letters" / "spanish-note.png", SAMPLES / "notices" / "chinese-notice.jpg"]
    if (CORPUS / "tess__phototest.tif").exists():
        singles.append(CORPUS / "tess__phototest.tif")
    small_files = [unique_copy(singles[i % len(singles)], small, i) for i in range(120)]
    long = work / "long"
    long.mkdir()
    long_file = concatenated(scanned, 48, long / "long-48.pdf")
    # Shapes real archives have (issue 13): a bound volume among loose letters, two of
    # them, and many short files; full-size pages (the corpus's, when present), since
    # small pages hide the cost of a page that waits for a core.
    # Every volume has pages of its own: identical files are OCRed once by scan2pdf.
    volume_sources = [scanned, scanned, scanned]
    letter_pages = singles
    heavy = CORPUS / "tess__8071_093.3B.tif"  # a real 300 dpi magazine page, ~2.5 s of OCR
    if heavy.exists():
        volume_sources = [[page_pdf(heavy, work, 990 + n)] for n in range(3)]
        letter_pages = [heavy]
    one_long, two_long = long_shapes(work, "", volume_sources, letter_pages, 500)
    # The volume is most of the work (8 of 12 pages): a page concurrency fixed at the start
    # leaves one core idle for the whole tail.
    tail = work / "tail"
    tail.mkdir()
    tail_letters = [unique_copy(letter_pages[0], tail, 600 + i) for i in range(4)]
    tail_volume = concatenated(volume_sources[2], 8, tail / "volume-8.pdf")
    # The same two shapes on everyday pages (letters, typed reports, a printout: 0.2-1.8 s
    # of Tesseract each), the weight of the batch issue 13 was filed on: a file's own set-up
    # is a larger part of it there than beside a 2.5 s magazine page.
    light = long_shapes(work, "-light", *everyday_pages(work), 520)
    workloads = {
        **{shape.name: shape for shape in (one_long, two_long, *light)},
        "tail": Workload("tail", [tail_volume, *tail_letters]),
        "mixed": Workload("mixed", [Path(f) for f in files]),
        "small": Workload("small", small_files),
        "long": Workload("long", [long_file]),
    }
    for load in (w for w in workloads.values() if w.name in only):  # rasterising is slow
        load.floor_pages = rasterise(load.files, work / f"floor-{load.name}")
        load.pages = len(load.floor_pages)
        load.long = load.name in LONG_SHAPES
    for name, (needs, make) in REAL_SHAPES.items():
        if name not in only:
            continue
        lacking = realpages.missing(needs)
        if lacking:  # no corpus (or part of it): the shape is left out, said once
            what = ", ".join(lacking) if realpages.CORPUS.is_dir() else "everything (no folder)"
            print(f"## {name}: skipped, {realpages.CORPUS} lacks {what}")
            continue
        built = make(work, scale)
        workloads[name] = Workload(
            name, built.files, len(built.floor_pages), built.floor_pages, True, True, built.turned
        )
    return workloads


def long_shapes(
    work: Path, suffix: str, volume_sources: list[list[Path]], letter_pages: list[Path], first: int
) -> tuple[Workload, Workload]:
    """(a) a 20-page volume among 13 letters and (b) two 12-page volumes among 10, from
    three sets of volume pages and the letters' images; ``first`` numbers the letters."""
    one_long = work / f"one-long{suffix}"
    one_long.mkdir()
    letters = [
        unique_copy(letter_pages[i % len(letter_pages)], one_long, first + i) for i in range(13)
    ]
    volume = concatenated(volume_sources[0], 20, one_long / "volume-20.pdf")
    two_long = work / f"two-long{suffix}"
    two_long.mkdir()
    loose = [
        unique_copy(letter_pages[i % len(letter_pages)], two_long, first + 200 + i)
        for i in range(10)
    ]
    volumes = [concatenated(volume_sources[n], 12, two_long / f"volume-{n}.pdf") for n in (1, 2)]
    return (
        Workload(one_long.name, [volume, *letters]),
        Workload(two_long.name, [*volumes, *loose]),
    )


def page_pdf(image: Path, work: Path, number: int) -> Path:
    """A one-page scanned PDF of a numbered copy of ``image`` (pixels of its own)."""
    target = work / f"page-{number}.pdf"
    target.write_bytes(img2pdf.convert(str(unique_copy(image, work, number))))
    return target


def everyday_pages(work: Path) -> tuple[list[list[Path]], list[Path]]:
    """Three sets of volume pages (single-page PDFs, each set with pixels of its own) and
    the letters' images, of everyday weight: the corpus's 1871 Senate letter, a faint
    newspaper column, an Epson scan of a printout, the samples' typed report and letter."""
    images = [SAMPLES / "letters" / "english-letter.tif"]
    letters = [SAMPLES / "letters" / "english-letter.tif", SAMPLES / "letters" / "spanish-note.png"]
    corpus_images = [CORPUS / "ocrmypdf__congress.jpg", CORPUS / "leptonica__lighttext.jpg"]
    if all(p.exists() for p in corpus_images):
        images += corpus_images
        letters = [*corpus_images, *letters]
    volumes: list[list[Path]] = []
    for n in range(3):
        pages = [SAMPLES / "reports" / "scanned-report.pdf"]
        if (CORPUS / "ocrmypdf__epson.pdf").exists():
            pages.append(CORPUS / "ocrmypdf__epson.pdf")
        pages += [page_pdf(image, work, 960 + 10 * n + k) for k, image in enumerate(images)]
        volumes.append(pages)
    return volumes, letters


def unique_copy(source: Path, folder: Path, number: int) -> Path:
    """A copy of an image with its number drawn in a corner: every file has its own content
    (scan2pdf's journal reuses the outputs of identical files, which would flatter it)."""
    target = folder / f"s{number:03d}{source.suffix}"
    with Image.open(source) as image:
        marked = image.copy()
        ImageDraw.Draw(marked).text(
            (5, 5), str(number), fill=0 if marked.mode != "RGB" else (0, 0, 0)
        )
        marked.save(target, dpi=image.info.get("dpi") or (300, 300))
    return target


def rasterise(files: list[Path], folder: Path) -> list[Path]:
    """Every page that needs OCR, as grayscale PNG at its scan resolution (the floor's input).
    PDF pages are rendered by pdftoppm when it is installed, else by PDFium."""
    folder.mkdir()
    pages: list[Path] = []
    for number, path in enumerate(files):
        if path.suffix == ".pdf":
            pages += rasterise_pdf(path, folder, f"{number:04d}")
        else:
            with Image.open(path) as image:
                for index, frame in enumerate(ImageSequence.Iterator(image)):
                    target = folder / f"{number:04d}-{index:04d}.png"
                    frame.convert("L").save(target, dpi=frame.info.get("dpi") or (300, 300))
                    pages.append(target)
    return pages


# ---- the tools ---------------------------------------------------------------------------

OCRMYPDF_OPTIONS = ["--skip-text", "--image-dpi", "300", "-l", LANG]
# scan2pdf draws the text layer with Tesseract's own renderer ("sandwich") by default;
# OCRmyPDF 17 defaults to fpdf2. The *-sandwich peers ask OCRmyPDF for the same renderer,
# so that the comparison holds with equal output as well as with each tool's defaults.
SANDWICH = ["--pdf-renderer", "sandwich"]


# A checkout of an earlier scan2pdf (--baseline), run by the "scan2pdf-baseline" tool beside
# this one, so that a change is measured against what it changes in the same rounds.
BASELINE: Path | None = None


def run_scan2pdf(
    load: Workload,
    out: Path,
    cores: int,
    baseline: Path | None = None,
    extra: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> Sample:
    """``scan2pdf convert`` over the workload's files, with a report: the sample says how
    many pages the upright check looked at and turned, and how many files failed (a failed
    file makes the run's time mean little: it is printed, and the benchmark goes on)."""
    command = [sys.executable, "-m", "scan2pdf"] if baseline else [str(BIN / "scan2pdf")]
    env = {**(env or {}), **({"PYTHONPATH": str(baseline)} if baseline else {})}
    report = out.with_name(out.name + ".jsonl")
    sample = timed(
        [
            *command,
            "convert",
            *map(str, load.files),
            "-o",
            str(out),
            "-l",
            LANG,
            "-j",
            str(cores),
            "-q",
            "--report",
            str(report),
            *extra,
        ],
        env=env or None,
        # In the baseline's own folder: ``python -m`` puts the working directory first on
        # sys.path, so run from this checkout it would import this checkout's scan2pdf.
        cwd=baseline,
        ok=(0, 1),  # 1: some file failed (said below)
    )
    sample.decisions = decisions(report)
    report.unlink(missing_ok=True)
    return sample


def decisions(report: Path) -> dict[str, int]:
    """From a scan2pdf report: pages the upright check looked at and turned, files failed
    (each failure printed)."""
    import json

    counts = {"checked": 0, "turned": 0, "failed": 0}
    if not report.exists():
        return counts
    for line in report.read_text().splitlines():
        row = json.loads(line)
        if row.get("status") == "failed":
            counts["failed"] += 1
            print(f"    FAILED {row.get('input')}: {row.get('reason')}: {row.get('message')}")
        for note in row.get("notes") or []:
            if note.startswith("page ") and ("to read upright" in note or "reads poorly" in note):
                counts["checked"] += 1
                counts["turned"] += "to read upright" in note
    return counts


def run_loop(load: Workload, out: Path, cores: int, extra: tuple[str, ...] = ()) -> Sample:
    """``ocrmypdf -j CORES`` once per file, one after another."""
    out.mkdir()
    script = "; ".join(
        shlex.join(
            [
                str(BIN / "ocrmypdf"),
                "-q",
                "-j",
                str(cores),
                *OCRMYPDF_OPTIONS,
                *extra,
                "--sidecar",
                str(out / f"{i}.txt"),
                str(f),
                str(out / f"{i}.pdf"),
            ]
        )
        for i, f in enumerate(load.files)
    )
    return timed(["sh", "-c", script])


def _xargs_recipe(files: Sequence[Path], out: Path, cores: int, extra: Sequence[str]) -> str:
    """OCRmyPDF's batch recipe as a shell command: ``xargs -P CORES ocrmypdf -j 1``."""
    listing = out / "inputs.txt"
    listing.write_text("".join(f"{f}\n" for f in files))
    command = (
        f"{BIN / 'ocrmypdf'} -q -j 1 {' '.join([*OCRMYPDF_OPTIONS, *extra])} "
        f'--sidecar "{out}/$(basename "$0").txt" "$0" "{out}/$(basename "$0").pdf"'
    )
    return f"xargs -P {cores} -n 1 sh -c {shlex.quote(command)} < {listing}"


def run_parallel(load: Workload, out: Path, cores: int, extra: tuple[str, ...] = ()) -> Sample:
    out.mkdir()
    return timed(["sh", "-c", _xargs_recipe(load.files, out, cores, extra)])


def page_count(path: Path) -> int:
    if path.suffix == ".pdf":
        with pikepdf.open(path) as pdf:
            return len(pdf.pages)
    with Image.open(path) as image:
        return getattr(image, "n_frames", 1)


def run_rotate_pages(load: Workload, out: Path, cores: int) -> Sample:
    """OCRmyPDF's own way with turned pages, ``--rotate-pages`` (orientation decided by
    Tesseract's detector before each page is read, in the same pass), used as a user
    would: every file of several pages with ``ocrmypdf -j CORES --rotate-pages``, one
    after another, then the single pages with the xargs recipe and ``--rotate-pages``."""
    out.mkdir()
    volumes = [f for f in load.files if page_count(f) > 1]
    singles = [f for f in load.files if f not in volumes]
    steps = [
        shlex.join(
            [
                str(BIN / "ocrmypdf"),
                "-q",
                "-j",
                str(cores),
                "--rotate-pages",
                *OCRMYPDF_OPTIONS,
                "--sidecar",
                str(out / f"v{i}.txt"),
                str(f),
                str(out / f"v{i}.pdf"),
            ]
        )
        for i, f in enumerate(volumes)
    ]
    if singles:
        steps.append(_xargs_recipe(singles, out, cores, ["--rotate-pages"]))
    return timed(["sh", "-c", " && ".join(steps)])


def run_floor(load: Workload, out: Path, cores: int) -> Sample:
    listing = out.with_suffix(".txt")
    listing.write_text("".join(f"{p}\n" for p in load.floor_pages))
    command = f'tesseract "$0" - -l {LANG} > /dev/null 2>&1'
    return timed(
        ["sh", "-c", f"xargs -P {cores} -n 1 sh -c {shlex.quote(command)} < {listing}"],
        env={"OMP_THREAD_LIMIT": "1"},
    )


NO_UPRIGHT = ("--no-upright",)
TOOLS: dict[str, Callable[[Workload, Path, int], Sample]] = {
    "scan2pdf": run_scan2pdf,
    # What the check of pages that read poorly (--upright, the default) costs.
    "scan2pdf-no-upright": lambda load, out, cores: run_scan2pdf(
        load, out, cores, extra=NO_UPRIGHT
    ),
    "scan2pdf-baseline": lambda load, out, cores: run_scan2pdf(load, out, cores, BASELINE),
    "scan2pdf-baseline-no-upright": lambda load, out, cores: run_scan2pdf(
        load, out, cores, BASELINE, NO_UPRIGHT
    ),
    # Every page read by the tesseract program, as OCRmyPDF reads it (worker/loaded.py).
    "scan2pdf-command": lambda load, out, cores: run_scan2pdf(
        load, out, cores, env={"SCAN2PDF_TESSERACT": "command"}
    ),
    "parallel": run_parallel,
    "parallel-sandwich": lambda load, out, cores: run_parallel(load, out, cores, (*SANDWICH,)),
    "loop": run_loop,
    "loop-sandwich": lambda load, out, cores: run_loop(load, out, cores, (*SANDWICH,)),
    "rotate-pages": run_rotate_pages,
    "floor": run_floor,
}
# The tools run when --tools is not given: on every shape scan2pdf with its defaults and with
# --no-upright (beside it the same two from --baseline, when given), the xargs recipe,
# ``ocrmypdf -j N`` per file, ``ocrmypdf --rotate-pages`` and the floor; on the generated
# shapes the sandwich peers too.
REAL_TOOLS = ["scan2pdf", "scan2pdf-no-upright", "parallel", "loop", "rotate-pages", "floor"]
GENERATED_TOOLS = [
    "scan2pdf",
    "scan2pdf-no-upright",
    "parallel",
    "parallel-sandwich",
    "loop",
    "loop-sandwich",
    "rotate-pages",
    "floor",
]
BASELINE_TOOLS = ["scan2pdf-baseline", "scan2pdf-baseline-no-upright"]


def default_tools(load: Workload, baseline: bool) -> list[str]:
    tools = list(REAL_TOOLS if load.real else GENERATED_TOOLS)
    if baseline:
        tools[2:2] = BASELINE_TOOLS
    return tools


def discovery_memory(work: Path, count: int) -> Sample:
    tree = work / f"tree-{count}"
    for index in range(count):
        folder = tree / f"d{index // 1000:03d}"
        if index % 1000 == 0:
            folder.mkdir(parents=True)
        (folder / f"scan{index:06d}.pdf").touch()
    code = (
        "from scan2pdf.core.discover import discover; from pathlib import Path; "
        f"n = sum(1 for _ in discover([Path({str(tree)!r})], Path({str(work / 'd-out')!r}))); "
        f"assert n == {count}, n"
    )
    return timed([sys.executable, "-c", code])


# ---- memory (issue 34, item 6) -----------------------------------------------------------------


def memory_runs(
    work: Path, tools: Sequence[str], cores: int, scale: float, sections: Sequence[str]
) -> None:
    """Peak RSS by process of scan2pdf runs that are about memory, not speed: one page of a
    gigapixel, and the null OCR engine over N and 10 N tiny files (the coordinator must not
    grow with the number of files it has seen)."""
    ours = [t for t in tools if t in ("scan2pdf", "scan2pdf-baseline")] or ["scan2pdf"]
    if "gigapixel" in sections:
        side = round(32_000 * min(1.0, scale) ** 0.5)
        page = realpages.gigapixel(work, side)
        load = Workload("gigapixel", [page], 1)
        budget = str(max(250, side * side // 1_000_000 + 10))
        print(
            f"\n## gigapixel: one {side}x{side} 1-bit page ({side * side / 1e9:.2f} gigapixels, "
            f"600 dpi), -j {cores} --max-image-mpixels {budget}",
            flush=True,
        )
        results = {}
        for tool in ours:
            out = work / f"out-gigapixel-{tool}"
            baseline = BASELINE if tool == "scan2pdf-baseline" else None
            results[tool] = [
                run_scan2pdf(load, out, cores, baseline, ("--max-image-mpixels", budget))
            ]
            shutil.rmtree(out, ignore_errors=True)
            print(f"  {tool}: {results[tool][0].seconds:.1f} s", flush=True)
        memory_table(results)
        print()
        for tool, runs in results.items():
            run, step = runs[0], timeline_step(runs[0].seconds)
            print(f"  {tool:>18} {run.idle_share(cores):4.0%} idle  {run.timeline(cores, step)}")
        shutil.rmtree(page.parent, ignore_errors=True)
    if "coordinator" in sections:
        counts = [max(10, round(200 * scale)), max(100, round(2000 * scale))]
        print(
            f"\n## coordinator: --ocr-engine none over {counts[0]} and {counts[1]} tiny files, "
            f"-j {cores}: peak RSS by process",
            flush=True,
        )
        folders = {n: realpages.tiny_files(work / f"tiny-{n}", n) for n in counts}
        results = {}
        for n in counts:
            for tool in ours:
                out = work / f"out-tiny-{n}-{tool}"
                baseline = BASELINE if tool == "scan2pdf-baseline" else None
                load = Workload(f"tiny-{n}", [folders[n]], n)
                sample = run_scan2pdf(load, out, cores, baseline, ("--ocr-engine", "none"))
                shutil.rmtree(out, ignore_errors=True)
                results[f"{tool}, {n} files"] = [sample]
                print(f"  {tool}, {n} files: {sample.seconds:.1f} s", flush=True)
        memory_table(results)
        for tool in ours:
            few, many = (results[f"{tool}, {n} files"][0] for n in counts)
            grew = many.peak_of("coordinator") - few.peak_of("coordinator")
            print(
                f"  {tool}: the coordinator's peak {few.peak_of('coordinator'):.1f} MiB after "
                f"{counts[0]} files, {many.peak_of('coordinator'):.1f} MiB after {counts[1]}: "
                f"{grew:+.1f} MiB ({grew * 1024 / (counts[1] - counts[0]) * 1000:+.0f} KiB "
                "per 1000 files)"
            )


# ---- main ------------------------------------------------------------------------------------

SHAPES = [
    "one-long",
    "two-long",
    "one-long-light",
    "two-long-light",
    "tail",
    "small",
    "long",
    "mixed",
    "turned-volume",
    "real-mixed",
]
SECTIONS = ["discovery", "gigapixel", "coordinator"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--only",
        default=",".join([*SHAPES, *SECTIONS]),
        help=f"shapes ({', '.join(SHAPES)}) and memory sections ({', '.join(SECTIONS)}), "
        "run in this order",
    )
    parser.add_argument(
        "--tools",
        help="comma-separated, for every shape (default: per shape, see the README; "
        f"known: {', '.join(TOOLS)})",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        help="a checkout of another scan2pdf version, run as the tools scan2pdf-baseline and "
        "scan2pdf-baseline-no-upright (for example: git worktree add /tmp/before HEAD~1)",
    )
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="scale the real shapes' page counts and the memory sections' sizes (a smoke "
        "run: 0.25); the generated shapes are not scaled",
    )
    args = parser.parse_args()
    global BASELINE
    BASELINE = args.baseline.resolve() if args.baseline else None
    only = args.only.split(",")
    unknown = [n for n in only if n not in (*SHAPES, *SECTIONS)]
    chosen = args.tools.split(",") if args.tools else None
    unknown += [t for t in chosen or [] if t not in TOOLS]
    if unknown:
        parser.error(f"unknown: {', '.join(unknown)}")
    if BASELINE is None and any("baseline" in t for t in chosen or []):
        parser.error("the scan2pdf-baseline tools need --baseline DIR")
    if BASELINE is not None:
        check_baseline(BASELINE)
    work = Path(tempfile.mkdtemp(prefix="scan2pdf-bench-"))
    try:
        print(
            f"cores: {args.jobs}; rounds: {args.rounds}; corpus: {realpages.CORPUS.exists()}; "
            f"scale: {args.scale}; baseline: {BASELINE}",
            flush=True,
        )
        loads = build(work, only, args.scale)
        for name in (n for n in only if n in loads):
            load = loads[name]
            tools = chosen or default_tools(load, BASELINE is not None)
            turned = f", {load.turned} scanned turned" if load.real else ""
            print(
                f"\n## {name}: {len(load.files)} files, {load.pages} pages to OCR{turned}",
                flush=True,
            )
            samples: dict[str, list[Sample]] = {tool: [] for tool in tools}
            for round_ in range(args.rounds):
                for tool in tools:
                    out = work / f"out-{name}-{tool}-{round_}"
                    samples[tool].append(TOOLS[tool](load, out, args.jobs))
                    shutil.rmtree(out, ignore_errors=True)
                    last = samples[tool][-1]
                    cpu = "" if last.cpu_seconds is None else f", {last.cpu_seconds:.1f} s CPU"
                    said = ""
                    if last.decisions:
                        said = ", upright check: {checked} pages, {turned} turned".format(
                            **last.decisions
                        )
                        said += f", {last.decisions['failed']} FAILED" * bool(
                            last.decisions["failed"]
                        )
                    print(
                        f"  round {round_ + 1} {tool}: {last.seconds:.1f} s{cpu}{said}", flush=True
                    )
            report(samples, args.jobs, load.long)
        if "discovery" in only:
            print("\n## discovery: peak RSS walking N empty placeholder files", flush=True)
            for count in (10_000, 100_000):
                sample = discovery_memory(work, count)
                print(
                    f"  {count:>7} files: {sample.seconds:5.1f} s, peak {sample.peak_mib:.0f} MiB"
                )
        memory_runs(
            work,
            chosen or ["scan2pdf", *(["scan2pdf-baseline"] * bool(BASELINE))],
            args.jobs,
            args.scale,
            only,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def check_baseline(baseline: Path) -> None:
    """The baseline tools must import the baseline's scan2pdf, not this checkout's (the
    editable install of this one is on every path of the venv)."""
    found = subprocess.run(
        [sys.executable, "-c", "import scan2pdf.worker.task as t; print(t.__file__)"],
        env={**os.environ, "PYTHONPATH": str(baseline)},
        cwd=baseline,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not Path(found).resolve().is_relative_to(baseline):
        raise SystemExit(f"--baseline {baseline}: scan2pdf is imported from {found} instead")
    print(f"baseline: scan2pdf from {Path(found).parent.parent}")


def timeline_step(seconds: float) -> float:
    """0.5 s a character up to a minute, then whole seconds: about 120 characters at most."""
    return 0.5 if seconds <= 60 else float(max(1, round(seconds / 120)))


def report(samples: dict[str, list[Sample]], cores: int, long: bool = False) -> None:
    median = {tool: statistics.median(s.seconds for s in runs) for tool, runs in samples.items()}
    peak = {tool: max(s.peak_mib for s in runs) for tool, runs in samples.items()}
    floor = median.get("floor")
    rotate = median.get("rotate-pages")
    ours = median.get("scan2pdf")
    cpu: dict[str, float | None] = {}
    for tool, runs in samples.items():
        measured = [s.cpu_seconds for s in runs if s.cpu_seconds is not None]
        cpu[tool] = statistics.median(measured) if len(measured) == len(runs) else None
    print(
        "\n| tool | median s | x floor | x rotate-pages | x scan2pdf | CPU s | peak RSS MiB "
        "| rounds s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for tool in samples:
        vs_floor = f"{median[tool] / floor:.2f}" if floor else "-"
        vs_rotate = f"{median[tool] / rotate:.2f}" if rotate else "-"
        vs_ours = f"{median[tool] / ours:.2f}" if ours else "-"
        used = f"{cpu[tool]:.1f}" if cpu[tool] is not None else "-"
        rounds = " / ".join(f"{s.seconds:.1f}" for s in samples[tool])
        print(
            f"| {tool} | {median[tool]:.1f} | {vs_floor} | {vs_rotate} | {vs_ours} | {used} "
            f"| {peak[tool]:.0f} | {rounds} |"
        )
    # Issue 34's targets, where the tools for them ran: the defaults against --no-upright
    # (at most 1.15x), against ocrmypdf --rotate-pages (at most 0.85x), against the floor.
    for ours_tool, off in (
        ("scan2pdf", "scan2pdf-no-upright"),
        ("scan2pdf-baseline", "scan2pdf-baseline-no-upright"),
    ):
        if ours_tool not in median:
            continue
        parts = [
            f"{label} {median[ours_tool] / median[other]:.2f}"
            for label, other in (
                ("/ --no-upright", off),
                ("/ rotate-pages", "rotate-pages"),
                ("/ floor", "floor"),
            )
            if other in median
        ]
        if parts:
            print(f"  {ours_tool} (defaults): " + ", ".join(parts))
    memory_table(samples)
    step = timeline_step(max(median.values()))
    print(
        f"\nBusy Tesseracts, one digit per {step:g} s (median round), and idle core-time"
        + (" (scan2pdf: each worker below its run):" if long else ":")
    )
    for tool, runs in samples.items():
        middle = sorted(runs, key=lambda s: s.seconds)[len(runs) // 2]
        idle = middle.idle_share(cores)
        print(f"  {tool:>28} {idle:4.0%} idle  {middle.timeline(cores, step)}")
        if long and middle.lanes:
            for number, lane in sorted(middle.lanes.items()):
                print(f"  {'worker ' + str(number):>28}             {marks(lane, cores, step)}")


def memory_table(samples: dict[str, list[Sample]]) -> None:
    """Peak RSS by process for the scan2pdf runs: the coordinator, the forkserver, every
    worker's own peak (VmHWM) and the most a worker with its children held at once."""
    rows = {t: runs for t, runs in samples.items() if t.startswith("scan2pdf") and runs[0].procs}
    if not rows:
        return
    print(
        "\nPeak RSS by process, MiB (the largest over the rounds; workers: each one's own "
        "peak in the median round; a worker's peak counts the pages it shares with the "
        "forkserver):"
    )
    print("| run | coordinator | forkserver | workers (own) | worker + children | tree |")
    print("|---|---|---|---|---|---|")
    for tool, runs in rows.items():
        middle = sorted(runs, key=lambda s: s.seconds)[len(runs) // 2]
        workers = " / ".join(f"{p.hwm_kib / 1024:.0f}" for p in middle.workers()) or "-"
        with_children = max((p.tree_kib for s in runs for p in s.workers()), default=0) / 1024
        print(
            f"| {tool} | {max(s.peak_of('coordinator') for s in runs):.0f} "
            f"| {max(s.peak_of('forkserver') for s in runs):.0f} | {workers} "
            f"| {with_children:.0f} | {max(s.peak_mib for s in runs):.0f} |"
        )


if __name__ == "__main__":
    main()
