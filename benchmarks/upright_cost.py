"""What reading every page the right way up costs: the same batch with and without it.

    .venv/bin/python benchmarks/upright_cost.py [--rounds 3]

Batches (built in a temporary folder from samples/, plus ../shared/corpus when present):

- upright: every page of the samples' scans and the corpus's upright English scans,
  each copy made unique (identical files are converted once) - the cost that matters,
  paid on archives where almost every page is the right way up;
- turned: the same pages with every fourth one turned 90, 180 or 270 degrees - what the
  check and the second reading cost where they do work.

``scan2pdf convert`` with default options (``--upright``) and with ``--no-upright``,
in turn every round (A B, A B, ...) so a noisy neighbour hits both alike; medians and
their ratio. Also how many pages the check looked at and how many it turned.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw, ImageSequence

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
SCAN2PDF = [sys.executable, "-m", "scan2pdf"]
UPRIGHT_CORPUS = (
    "tess__phototest.tif",
    "ocrmypdf__linn.png",
    "tess__8071_093.3B.tif",
    "leptonica__lighttext.jpg",
    "ocrmypdf__congress.jpg",
)


def pages() -> list[Image.Image]:
    found: list[Image.Image] = []
    sources = [ROOT / "samples" / "letters" / "english-letter.tif"]
    sources += [ROOT / "samples" / "letters" / "spanish-note.png"]
    sources += [CORPUS / name for name in UPRIGHT_CORPUS if (CORPUS / name).exists()]
    for source in sources:
        with Image.open(source) as image:
            found += [frame.convert("L") for frame in ImageSequence.Iterator(image)]
    return found


def build(folder: Path, turn_every: int | None) -> int:
    folder.mkdir(parents=True)
    made = 0
    for copy in range(2):
        for index, page in enumerate(pages()):
            marked = page.copy()
            ImageDraw.Draw(marked).point((copy, index), fill=128)  # unique bytes
            if turn_every and made % turn_every == turn_every - 1:
                marked = marked.rotate((90, 180, 270)[made % 3], expand=True)
            marked.save(folder / f"p{made:03d}.png", dpi=(300, 300))
            made += 1
    return made


def run(source: Path, out: Path, upright: bool) -> tuple[float, int, int]:
    report = out.with_suffix(".jsonl")
    started = time.monotonic()
    subprocess.run(
        [
            *SCAN2PDF,
            "convert",
            source,
            "-o",
            out,
            "-q",
            "--report",
            report,
            "--upright" if upright else "--no-upright",
        ],
        check=True,
    )
    seconds = time.monotonic() - started
    notes = [n for line in report.read_text().splitlines() for n in json.loads(line)["notes"]]
    checked = sum(1 for n in notes if n.startswith("page "))
    turned = sum(1 for n in notes if "to read upright" in n)
    return seconds, checked, turned


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work_dir:
        work = Path(work_dir)
        print("| batch | pages | --no-upright s | --upright s | ratio | checked | turned |")
        print("|---|---|---|---|---|---|---|")
        for name, every in (("upright", None), ("turned", 4)):
            count = build(work / name, every)
            times: dict[bool, list[float]] = {True: [], False: []}
            seen = (0, 0)
            for round_no in range(args.rounds):
                for upright in (False, True):
                    out = work / f"out-{name}-{upright}-{round_no}"
                    seconds, checked, turned = run(work / name, out, upright)
                    times[upright].append(seconds)
                    if upright:
                        seen = (checked, turned)
            off, on = statistics.median(times[False]), statistics.median(times[True])
            print(
                f"| {name} | {count} | {off:.1f} | {on:.1f} | {on / off:.3f} | "
                f"{seen[0]} | {seen[1]} |"
            )


if __name__ == "__main__":
    main()
