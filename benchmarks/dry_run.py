"""How long ``convert --dry-run`` takes, against discovery alone and a resume run.

The issue's bar: a dry run costs about what discovery and the journal lookups take. A
tree of N tiny images (half of them in a zip archive, so members are listed too) is
converted once with OCRmyPDF's null engine; then, each as its own command, three rounds
interleaved of:

- ``walk``: discovery alone (``scan2pdf.core.discover``, what a dry run cannot avoid);
- ``dry-run``: ``scan2pdf convert --dry-run`` over the converted tree (all up to date,
  plus N/10 new files, so the listing has both kinds);
- ``resume``: the same ``scan2pdf convert`` for real (the up-to-date pass a re-run makes,
  which also starts the worker pool).

    .venv/bin/python benchmarks/dry_run.py [--files 2000]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SCAN2PDF = [sys.executable, "-m", "scan2pdf"]


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    count = parser.parse_args().files
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "in", Path(tmp) / "out"
        (src / "loose").mkdir(parents=True)
        with zipfile.ZipFile(src / "vendor.zip", "w") as archive:
            for n in range(count):
                page = Image.new("L", (60, 40), n % 250)
                path = src / "loose" / f"page{n:05d}.png"
                page.save(path)
                if n % 2:
                    archive.write(path, f"box/page{n:05d}.png")
                    path.unlink()
        null = ["--ocr-engine", "none", "-q"]
        subprocess.run([*SCAN2PDF, "convert", str(src), "-o", str(out), *null], check=True)
        for n in range(count // 10):
            Image.new("L", (60, 40), 7).save(src / "loose" / f"new{n:05d}.png")
        walk = [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from scan2pdf.core.discover import discover;"
            f" print(sum(1 for _ in discover([Path({str(src)!r})], Path({str(out)!r}))))",
        ]
        commands = {
            "walk": walk,
            "dry-run": [*SCAN2PDF, "convert", str(src), "-o", str(out), "--dry-run", *null],
            "resume": [*SCAN2PDF, "convert", str(src), "-o", str(out), "--no-index", *null],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(3):
            for name, argv in commands.items():
                if name == "resume":  # the resume converts the new files: take them away
                    for new in (src / "loose").glob("new*.png"):
                        new.rename(new.with_suffix(".hold"))
                times[name].append(timed(argv))
                if name == "resume":
                    for held in (src / "loose").glob("new*.hold"):
                        held.rename(held.with_suffix(".png"))
        base = statistics.median(times["walk"])
        print(f"{count} inputs ({count // 2} in a zip), {count // 10} new; median of 3 rounds")
        for name, values in times.items():
            median = statistics.median(values)
            print(f"{name:<8} {median:6.2f} s  {median / base:4.2f}x walk")


if __name__ == "__main__":
    main()
