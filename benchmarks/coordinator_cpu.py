"""The coordinator's own CPU per file: can one coordinator feed a 64-core machine?

Converts N tiny single-page images with OCRmyPDF's null OCR engine (so workers finish
fast and the coordinator is the busy part) through ``scan2pdf.convert`` in this process
on a pool of its own, and reads this process's CPU time (``RUSAGE_SELF``: the
coordinator's threads - discovery, triage, journal, publishing, report, search index -
and none of the workers', which are other processes). A second run over the same folder
measures a resume pass (every file up to date).

    .venv/bin/python benchmarks/coordinator_cpu.py [--files 1000]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scan2pdf import Options, convert


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    count = parser.parse_args().files
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in"
        for n in range(count):
            folder = src / f"box{n // 100:03d}"
            folder.mkdir(parents=True, exist_ok=True)
            Image.new("L", (200, 260), 255 - n % 200).save(folder / f"{n:05d}.png", dpi=(150, 150))
        options = Options(ocr_engine="none")
        for label in ("first run", "resume (all up to date)"):
            before, started = cpu(), time.monotonic()
            report = convert([src], Path(tmp) / "out", options, own_pool=True)
            used, wall = cpu() - before, time.monotonic() - started
            assert report.total == count, report.summary()
            per_file = used / count * 1000
            print(
                f"{label}: {count} files in {wall:.1f} s; coordinator CPU {used:.2f} s = "
                f"{per_file:.2f} ms per file, so one coordinator feeds up to "
                f"{1000 / per_file:.0f} files/s"
            )


if __name__ == "__main__":
    main()
