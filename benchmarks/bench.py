"""Throughput and memory of scan2pdf against its peers, measured side by side.

    .venv/bin/python benchmarks/bench.py [--rounds 3] [--only mixed,small,long,discovery]

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
- discovery: walking 100,000 empty placeholder files (memory must not grow with the count).

Tools, run in turn every round (A B C D, A B C D, ...) so that a noisy neighbour hits all
of them alike; the table shows medians and ratios, never absolute claims:

- scan2pdf: ``scan2pdf convert`` with default options (skip text, 300 dpi fallback);
- loop: ``for f in ...; do ocrmypdf --skip-text --image-dpi 300 --sidecar ...; done``;
- parallel: OCRmyPDF's batch recipe, ``xargs -P <cores> ocrmypdf -j1 ...`` (same options);
- loop-sandwich, parallel-sandwich: both with ``--pdf-renderer sandwich``, the text layer
  scan2pdf draws by default (OCRmyPDF 17 defaults to fpdf2);
- floor: Tesseract alone on the same pages, rasterised beforehand to grayscale PNG at
  their scan resolution, ``tesseract PAGE - -l eng`` with OMP_THREAD_LIMIT=1, one process
  per core.

Peak memory is the largest summed RSS of the whole process tree, sampled every 50 ms; the
same sampler counts the Tesseracts in the tree, printed as a timeline of busy slots.
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
from pypdf import PdfReader

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


def tree_rss_kib(root: int) -> tuple[int, int]:
    """Summed VmRSS of ``root`` and all its descendants, from /proc, and how many
    Tesseracts among them read a page (the busy slots, for the timeline): threads named
    "tesseract", which is a ``tesseract`` process's one thread (OMP_THREAD_LIMIT=1) or a
    worker thread reading with the Tesseract loaded in it (scan2pdf/worker/loaded.py)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        pid, ppid = int(entry.name), int(fields.get("PPid", "0").strip() or 0)
        children.setdefault(ppid, []).append(pid)
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0]) if "VmRSS" in fields else 0
    total, busy, stack = 0, 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        busy += _threads_named(pid, "tesseract")  # 0 for a process already gone
        stack.extend(children.get(pid, []))
    return total, busy


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


@dataclass
class Sample:
    seconds: float
    peak_mib: float
    cpu_seconds: float | None = None
    # Busy Tesseracts every 50 ms: where cores idle, not only the total.
    busy: list[int] = field(default_factory=list)

    def timeline(self, cores: int, step: float = 0.5) -> str:
        """One character per ``step`` s: the mean busy Tesseracts, as a digit."""
        per = max(1, round(step / _SAMPLE_EVERY))
        marks = []
        for start in range(0, len(self.busy), per):
            window = self.busy[start : start + per]
            marks.append(str(min(cores, round(sum(window) / len(window)))))
        return "".join(marks)

    def idle_share(self, cores: int) -> float:
        """Share of core-time with no Tesseract on it, from the first to the last sample."""
        if not self.busy:
            return 0.0
        return 1 - sum(min(b, cores) for b in self.busy) / (cores * len(self.busy))


_SAMPLE_EVERY = 0.05


def timed(argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> Sample:
    """Run a command; wall time, the peak RSS and (where a cgroup can be made) the CPU time
    of its process tree."""
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
    peak = 0
    busy: list[int] = []
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            rss, tesseracts = tree_rss_kib(proc.pid)
            peak = max(peak, rss)
            busy.append(tesseracts)
            stop.wait(_SAMPLE_EVERY)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    code = proc.wait()
    seconds = time.monotonic() - started
    stop.set()
    sampler.join()
    if code != 0:
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
    return Sample(seconds, peak / 1024, cpu, busy)


# ---- workloads ---------------------------------------------------------------------------


@dataclass
class Workload:
    name: str
    files: list[Path]
    pages: int = 0
    floor_pages: list[Path] = field(default_factory=list)


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


def build(work: Path, floors: Sequence[str] = ()) -> dict[str, Workload]:
    """The workloads; ``floors`` names those whose pages the floor needs rasterised."""
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
    for load in (w for w in workloads.values() if w.name in floors):  # rasterising is slow
        load.floor_pages = rasterise(load.files, work / f"floor-{load.name}")
        load.pages = len(load.floor_pages)
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
    """Every page that needs OCR, as grayscale PNG at its scan resolution (the floor's input)."""
    folder.mkdir()
    pages: list[Path] = []
    for number, path in enumerate(files):
        if path.suffix == ".pdf":
            reader = PdfReader(path)
            with pikepdf.open(path) as pdf:
                dpis = [scan_dpi(page) for page in pdf.pages]
            for index, page in enumerate(reader.pages):
                if (page.extract_text() or "").strip():
                    continue  # --skip-text: nobody OCRs this page
                dpi = dpis[index]
                prefix = folder / f"{number:04d}-{index:04d}"
                subprocess.run(
                    [
                        "pdftoppm",
                        "-gray",
                        "-png",
                        "-r",
                        str(dpi),
                        "-f",
                        str(index + 1),
                        "-l",
                        str(index + 1),
                        "-singlefile",
                        str(path),
                        str(prefix),
                    ],
                    check=True,
                )
                pages.append(prefix.with_suffix(".png"))
        else:
            with Image.open(path) as image:
                for index, frame in enumerate(ImageSequence.Iterator(image)):
                    target = folder / f"{number:04d}-{index:04d}.png"
                    frame.convert("L").save(target, dpi=frame.info.get("dpi") or (300, 300))
                    pages.append(target)
    return pages


def scan_dpi(page: pikepdf.Page) -> int:
    """The resolution of the widest image on a PDF page (what the scanner produced)."""
    box = page.mediabox
    width_in = float(box[2] - box[0]) / 72
    widths = [
        int(image.Width) for image in page.get_images().values()
    ]  # pikepdf 10 deprecates it; fine for a benchmark
    return min(600, max([150, *(round(w / width_in) for w in widths)]))


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
    command = [sys.executable, "-m", "scan2pdf"] if baseline else [str(BIN / "scan2pdf")]
    env = {**(env or {}), **({"PYTHONPATH": str(baseline)} if baseline else {})}
    return timed(
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
            *extra,
        ],
        env=env or None,
    )


def run_loop(load: Workload, out: Path, cores: int, extra: tuple[str, ...] = ()) -> Sample:
    out.mkdir()
    script = "; ".join(
        shlex.join(
            [
                str(BIN / "ocrmypdf"),
                "-q",
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


def run_parallel(load: Workload, out: Path, cores: int, extra: tuple[str, ...] = ()) -> Sample:
    out.mkdir()
    listing = out / "inputs.txt"
    listing.write_text("".join(f"{f}\n" for f in load.files))
    command = (
        f"{BIN / 'ocrmypdf'} -q -j 1 {' '.join([*OCRMYPDF_OPTIONS, *extra])} "
        f'--sidecar "{out}/$(basename "$0").txt" "$0" "{out}/$(basename "$0").pdf"'
    )
    return timed(["sh", "-c", f"xargs -P {cores} -n 1 sh -c {shlex.quote(command)} < {listing}"])


def run_floor(load: Workload, out: Path, cores: int) -> Sample:
    listing = out.with_suffix(".txt")
    listing.write_text("".join(f"{p}\n" for p in load.floor_pages))
    command = f'tesseract "$0" - -l {LANG} > /dev/null 2>&1'
    return timed(
        ["sh", "-c", f"xargs -P {cores} -n 1 sh -c {shlex.quote(command)} < {listing}"],
        env={"OMP_THREAD_LIMIT": "1"},
    )


TOOLS: dict[str, Callable[[Workload, Path, int], Sample]] = {
    "scan2pdf": run_scan2pdf,
    "scan2pdf-baseline": lambda load, out, cores: run_scan2pdf(load, out, cores, BASELINE),
    # What the check of pages that read poorly (--upright, the default) costs.
    "scan2pdf-no-upright": lambda load, out, cores: run_scan2pdf(
        load, out, cores, extra=("--no-upright",)
    ),
    # Every page read by the tesseract program, as OCRmyPDF reads it (worker/loaded.py).
    "scan2pdf-command": lambda load, out, cores: run_scan2pdf(
        load, out, cores, env={"SCAN2PDF_TESSERACT": "command"}
    ),
    "parallel": run_parallel,
    "parallel-sandwich": lambda load, out, cores: run_parallel(load, out, cores, (*SANDWICH,)),
    "loop": run_loop,
    "loop-sandwich": lambda load, out, cores: run_loop(load, out, cores, (*SANDWICH,)),
    "floor": run_floor,
}


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


# ---- main ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--only",
        default="one-long,two-long,one-long-light,two-long-light,tail,small,long,mixed,discovery",
    )
    parser.add_argument(
        "--tools",
        default=",".join(
            t
            for t in TOOLS
            if t not in ("scan2pdf-baseline", "scan2pdf-no-upright", "scan2pdf-command")
        ),
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        help="a checkout of another scan2pdf version, run as the tool scan2pdf-baseline "
        "(for example: git worktree add /tmp/before HEAD~1)",
    )
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    args = parser.parse_args()
    global BASELINE
    BASELINE = args.baseline.resolve() if args.baseline else None
    only, tools = args.only.split(","), args.tools.split(",")
    work = Path(tempfile.mkdtemp(prefix="scan2pdf-bench-"))
    try:
        print(f"cores: {args.jobs}; rounds: {args.rounds}; corpus: {CORPUS.exists()}", flush=True)
        loads = build(work, only)
        for name in (n for n in loads if n in only):
            load = loads[name]
            print(f"\n## {name}: {len(load.files)} files, {load.pages} pages to OCR", flush=True)
            samples: dict[str, list[Sample]] = {tool: [] for tool in tools}
            for round_ in range(args.rounds):
                for tool in tools:
                    out = work / f"out-{name}-{tool}-{round_}"
                    samples[tool].append(TOOLS[tool](load, out, args.jobs))
                    shutil.rmtree(out, ignore_errors=True)
                    last = samples[tool][-1]
                    cpu = "" if last.cpu_seconds is None else f", {last.cpu_seconds:.1f} s CPU"
                    print(f"  round {round_ + 1} {tool}: {last.seconds:.1f} s{cpu}", flush=True)
            report(samples, args.jobs)
        if "discovery" in only:
            print("\n## discovery: peak RSS walking N empty placeholder files", flush=True)
            for count in (10_000, 100_000):
                sample = discovery_memory(work, count)
                print(
                    f"  {count:>7} files: {sample.seconds:5.1f} s, peak {sample.peak_mib:.0f} MiB"
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(samples: dict[str, list[Sample]], cores: int) -> None:
    median = {tool: statistics.median(s.seconds for s in runs) for tool, runs in samples.items()}
    peak = {tool: max(s.peak_mib for s in runs) for tool, runs in samples.items()}
    floor = median.get("floor")
    ours = median.get("scan2pdf")
    cpu: dict[str, float | None] = {}
    for tool, runs in samples.items():
        measured = [s.cpu_seconds for s in runs if s.cpu_seconds is not None]
        cpu[tool] = statistics.median(measured) if len(measured) == len(runs) else None
    print("\n| tool | median s | x floor | scan2pdf speed-up | CPU s | peak RSS MiB |")
    print("|---|---|---|---|---|---|")
    for tool in samples:
        vs_floor = f"{median[tool] / floor:.2f}" if floor else "-"
        speedup = f"{median[tool] / ours:.2f}" if ours else "-"
        used = f"{cpu[tool]:.1f}" if cpu[tool] is not None else "-"
        print(
            f"| {tool} | {median[tool]:.1f} | {vs_floor} | {speedup} | {used} | {peak[tool]:.0f} |"
        )
    print("\nBusy Tesseracts, one digit per 0.5 s (median round), and idle core-time:")
    for tool, runs in samples.items():
        middle = sorted(runs, key=lambda s: s.seconds)[len(runs) // 2]
        idle = middle.idle_share(cores)
        print(f"  {tool:>18} {idle:4.0%} idle  {middle.timeline(cores)}")


if __name__ == "__main__":
    main()
