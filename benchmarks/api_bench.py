"""Many API calls at once against one batch call over the same files.

50 single-page scans (the samples' letters and notices, each copy numbered so no two have
the same content) are OCRed, in interleaved rounds, by:

- ``convert``: one ``scan2pdf.convert`` over the folder (the batch engine);
- ``gather``: ``asyncio.gather`` of 50 ``aextract_text`` calls, as tutorials write it;
- ``threads``: a thread pool of 8 calling ``extract_text``;
- ``cli``: ``scan2pdf convert`` in a fresh process (pays its own start-up).

All on the process's shared pool (one warm pool for every call); while each runs, a
sampler counts the Tesseract processes (never above the budget) and the distinct worker
processes seen (warm workers are reused: no interpreter per call).

    .venv/bin/python benchmarks/api_bench.py [--files 50] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import unique_copy  # noqa: E402

from scan2pdf import aextract_text, convert, extract_text, shutdown  # noqa: E402

SOURCES = [
    ROOT / "samples" / "letters" / "spanish-note.png",
    ROOT / "samples" / "notices" / "chinese-notice.jpg",
]


def processes() -> dict[int, tuple[int, str]]:
    table: dict[int, tuple[int, str]] = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        table[int(entry)] = (int(fields[1]), stat[stat.index("(") + 1 : stat.rindex(")")])
    return table


def depth(table: dict[int, tuple[int, str]], pid: int, root: int) -> int:
    """How many generations below ``root`` process ``pid`` is; 0 when not below it."""
    n = 0
    while pid > 1 and n < 10:
        pid = table.get(pid, (0, ""))[0]
        n += 1
        if pid == root:
            return n
    return 0


class Sampler:
    """Every 50 ms: Tesseracts running under this process, and worker pids seen."""

    def __init__(self) -> None:
        self.most_tesseracts = 0
        self.workers: set[int] = set()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        me = os.getpid()
        while not self._done.wait(0.05):
            table = processes()

            mine = {pid: depth(table, pid, me) for pid in table}
            self.most_tesseracts = max(
                self.most_tesseracts,
                sum(1 for pid, d in mine.items() if d and table[pid][1] == "tesseract"),
            )
            # Forkserver at depth 1; its children (depth 2) are the pool's workers.
            self.workers |= {
                pid for pid, d in mine.items() if d == 2 and table[pid][1] != "tesseract"
            }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        folder = work / "in"
        folder.mkdir()
        files = [unique_copy(SOURCES[n % len(SOURCES)], folder, n) for n in range(args.files)]
        languages = "eng+spa+chi_sim"

        def by_convert(n: int) -> None:
            report = convert([folder], work / f"convert-{n}", languages=languages, index=False)
            assert report.converted == len(files), report.summary()

        def by_gather(n: int) -> None:
            async def run() -> list[str]:
                return await asyncio.gather(*(aextract_text(f, languages=languages) for f in files))

            assert all(asyncio.run(run()))

        def by_threads(n: int) -> None:
            with ThreadPoolExecutor(8) as pool:
                assert all(pool.map(lambda f: extract_text(f, languages=languages), files))

        def by_cli(n: int) -> None:
            command = [str(ROOT / ".venv" / "bin" / "scan2pdf"), "convert", str(folder)]
            out = ["-o", str(work / f"cli-{n}"), "-l", languages, "--no-index", "-q"]
            subprocess.run([*command, *out], check=True)

        ways: dict[str, Callable[[int], None]] = {
            "convert": by_convert,
            "gather": by_gather,
            "threads": by_threads,
            "cli": by_cli,
        }
        by_convert(-1)  # warm the shared pool and the disk cache once, not measured
        seconds: dict[str, list[float]] = {name: [] for name in ways}
        peaks: dict[str, int] = {name: 0 for name in ways}
        workers: dict[str, int] = {name: 0 for name in ways}
        for n in range(args.rounds):
            for name, way in ways.items():
                with Sampler() as sampler:
                    started = time.monotonic()
                    way(n)
                    seconds[name].append(time.monotonic() - started)
                peaks[name] = max(peaks[name], sampler.most_tesseracts)
                workers[name] = max(workers[name], len(sampler.workers))
                for leftover in work.glob(f"*-{n}"):
                    shutil.rmtree(leftover)
        shutdown()
    base = statistics.median(seconds["convert"])
    print(f"{args.files} single-page files, {args.rounds} interleaved rounds, 2 cores")
    print("| way | seconds (median) | x convert | most Tesseracts at once | worker processes |")
    print("|---|---|---|---|---|")
    for name in ways:
        median = statistics.median(seconds[name])
        shown = "(own process)" if name == "cli" else str(workers[name])
        print(f"| {name} | {median:.1f} | {median / base:.2f} | {peaks[name]} | {shown} |")


if __name__ == "__main__":
    main()
