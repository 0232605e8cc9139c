"""What binding outputs to their bytes costs: hashing at publish, a resume, ``verify``.

A tree of N one-page letters (tiny generated images) is converted once with OCRmyPDF's
null engine. Then, three rounds each, as their own commands:

- ``hash``: SHA-256 of every published output in this process (what publishing adds per
  file: the hash is taken while the staged copy is written, so no extra read);
- ``resume``: the same ``scan2pdf convert`` again (all up to date: each output is read and
  hashed before it counts as up to date);
- ``verify``: ``scan2pdf verify OUTDIR`` (every output hashed, every PDF's pages counted).

    .venv/bin/python benchmarks/fixity.py [--files 1000]
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scan2pdf import convert  # noqa: E402
from tests.engine_helpers import NULL_ENGINE, scan  # noqa: E402

TOOL = ROOT / ".venv" / "bin" / "scan2pdf"


def timed(command: list[str]) -> float:
    started = time.monotonic()
    subprocess.run(command, check=False, capture_output=True)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "src", Path(tmp) / "out"
        for n in range(args.files):
            scan(src / f"box{n // 100}" / f"letter{n}.png", shade=n)
        convert([src], out, NULL_ENGINE)
        published = [p for p in out.rglob("*") if p.is_file() and ".scan2pdf" not in p.parts]
        size = sum(p.stat().st_size for p in published)
        rounds: dict[str, list[float]] = {"hash": [], "resume": [], "verify": []}
        for _ in range(3):
            started = time.monotonic()
            for path in published:
                hashlib.sha256(path.read_bytes()).hexdigest()
            rounds["hash"].append(time.monotonic() - started)
            rounds["resume"].append(
                timed([str(TOOL), "convert", str(src), "-o", str(out), "--ocr-engine", "none"])
            )
            rounds["verify"].append(timed([str(TOOL), "verify", str(out)]))
        print(f"{args.files} inputs, {len(published)} outputs, {size / 2**20:.1f} MiB")
        for name, seconds in rounds.items():
            median = statistics.median(seconds)
            print(f"{name:<7} median {median:.2f} s ({median / args.files * 1000:.2f} ms a file)")


if __name__ == "__main__":
    main()
