"""Latency in the hot folder while a long document converts (issue 13, shape e).

A 100-page scanned PDF is dropped into ``scan2pdf watch``'s inbox; a few seconds later
20 single-page scans are dropped one after another. For each file: seconds from the drop
(an atomic rename into the inbox) to its PDF appearing in OUTDIR. A single page should not
wait for the long document: its latency should be about its own conversion time.

    .venv/bin/python benchmarks/watch_latency.py [--baseline DIR] [--pages 100] [--singles 20]

With ``--baseline`` the same run is made with another checkout (PYTHONPATH) afterwards.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import SAMPLES, concatenated, unique_copy


def run(work: Path, pages: int, singles: int, baseline: Path | None) -> dict[str, float]:
    inbox, out, staging = work / "inbox", work / "out", work / "staging"
    for folder in (inbox, staging):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
    shutil.rmtree(out, ignore_errors=True)
    volume = concatenated(
        [SAMPLES / "reports" / "scanned-report.pdf"], pages, staging / "volume.pdf"
    )
    letters = [
        unique_copy(SAMPLES / "letters" / "spanish-note.png", staging, n) for n in range(singles)
    ]
    command = [sys.executable, "-m", "scan2pdf", "watch", str(inbox), "-o", str(out), "-q"]
    env = {**os.environ, **({"PYTHONPATH": str(baseline)} if baseline else {})}
    service = subprocess.Popen([*command, "--settle", "0.5", "--no-index"], env=env)
    dropped: dict[str, float] = {}
    published: dict[str, float] = {}
    try:
        time.sleep(3)  # the service is up and watching

        def drop(path: Path) -> None:
            path.rename(inbox / path.name)
            dropped[path.stem] = time.monotonic()

        drop(volume)
        time.sleep(5)  # the long document is converting
        for letter in letters:
            drop(letter)
            time.sleep(0.2)
        deadline = time.monotonic() + 1800
        while len(published) < len(dropped) and time.monotonic() < deadline:
            for stem in dropped:
                if stem not in published and (out / f"{stem}.pdf").exists():
                    published[stem] = time.monotonic()
            time.sleep(0.05)
    finally:
        service.terminate()
        service.wait(60)
    return {stem: published[stem] - dropped[stem] for stem in published}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--singles", type=int, default=20)
    parser.add_argument("--baseline", type=Path)
    args = parser.parse_args()
    versions: list[tuple[str, Path | None]] = [("scan2pdf", None)]
    if args.baseline:
        versions.append(("baseline", args.baseline.resolve()))
    with tempfile.TemporaryDirectory() as tmp:
        for name, checkout in versions:
            latency = run(Path(tmp), args.pages, args.singles, checkout)
            single = sorted(v for k, v in latency.items() if k != "volume")
            print(f"## {name}: {args.pages}-page PDF, then {args.singles} single pages")
            print(f"  volume: {latency.get('volume', float('nan')):.1f} s from drop to output")
            print(
                f"  single pages: median {statistics.median(single):.1f} s, "
                f"max {max(single):.1f} s, all: {' '.join(f'{v:.1f}' for v in single)}"
            )


if __name__ == "__main__":
    main()
