"""Memory of the hot-folder service over many files: it must stay flat.

    .venv/bin/python benchmarks/watch_memory.py [--files 1000] [--batch 100]

Starts ``scan2pdf watch`` on a temporary inbox, drops small single-page scans (each with its
own content) in batches, and prints the summed RSS of the service's whole process tree
after each batch is done. Flat means the last figures are no higher than the first ones,
give or take the noise of the allocator.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import tree_rss_kib

BIN = Path(sys.executable).parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="scan2pdf-watch-memory-"))
    inbox, out, staged = work / "inbox", work / "out", work / "staged"
    for folder in (inbox, staged):
        folder.mkdir()
    service = subprocess.Popen(
        [str(BIN / "scan2pdf"), "watch", str(inbox), "-o", str(out), "--settle", "1", "-q"]
    )
    done = inbox / ".scan2pdf" / "done"
    try:
        time.sleep(3)
        print("| files done | service tree RSS MiB | peak during batch MiB |")
        print("|---|---|---|")
        for first in range(0, args.files, args.batch):
            for n in range(first, min(first + args.batch, args.files)):
                image = Image.new("L", (320, 90), 255)
                ImageDraw.Draw(image).text((10, 30), f"Memory test file {n}", fill=0)
                image.save(staged / f"m-{n:05d}.png", dpi=(300, 300))
            for path in staged.iterdir():
                path.rename(inbox / path.name)
            peak = 0
            target = min(first + args.batch, args.files)
            while len(list(done.glob("*.png"))) < target:
                peak = max(peak, tree_rss_kib(service.pid)[0])
                time.sleep(0.5)
            time.sleep(1)
            now = tree_rss_kib(service.pid)[0]
            print(f"| {target} | {now / 1024:.0f} | {peak / 1024:.0f} |", flush=True)
    finally:
        service.terminate()
        service.wait(timeout=60)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
