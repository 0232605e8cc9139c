"""Text and time of a high-resolution scan with and without --max-ocr-dpi.

The corpus's real 300 dpi scan of a magazine spread (``tess__8071_093.3B.tif``, UNLV, with
ground truth) is scaled up 2x and 4x (600 and 1200 dpi), then converted by scan2pdf with
the cap at each resolution, one file at a time on one core, interleaved rounds. The
character error rate is taken against the ground truth; seconds are wall time of the
conversion, and the ratio is against the same file converted without a cap.

    .venv/bin/python benchmarks/ocr_dpi.py [--rounds 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
PAGE = "tess__8071_093.3B.tif"
sys.path.insert(0, str(ROOT))

from scan2pdf import convert_file, shutdown  # noqa: E402
from tests.quality import cer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2)
    rounds = parser.parse_args().rounds
    truth = (CORPUS / f"{PAGE}.gt.txt").read_text(encoding="utf-8")
    Image.MAX_IMAGE_PIXELS = None
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        scans = {}
        with Image.open(CORPUS / PAGE) as page:
            gray = page.convert("L")
            for scale in (1, 2, 4):
                path = work / f"page-{300 * scale}dpi.tif"
                big = gray.resize(
                    (gray.width * scale, gray.height * scale), Image.Resampling.BICUBIC
                )
                big.save(path, dpi=(300 * scale, 300 * scale), compression="tiff_lzw")
                scans[300 * scale] = path
        cases = [
            (dpi, cap) for dpi in scans for cap in (4800, 600, 400, 300) if cap < dpi or cap == 4800
        ]
        seconds: dict[tuple[int, int], list[float]] = {case: [] for case in cases}
        errors: dict[tuple[int, int], float] = {}
        for n in range(rounds):
            for dpi, cap in cases:
                out = work / f"out-{n}-{dpi}-{cap}"
                started = time.monotonic()
                result = convert_file(scans[dpi], out, jobs=1, max_ocr_dpi=cap, index=False)
                seconds[(dpi, cap)].append(time.monotonic() - started)
                assert result.status == "converted", result.message
                assert result.sidecar is not None
                errors[(dpi, cap)] = cer(truth, result.sidecar.read_text(encoding="utf-8"))
        shutdown()
    print("| scan | OCRed at | seconds (median) | x uncapped | CER |")
    print("|---|---|---|---|---|")
    for dpi, cap in cases:
        median = statistics.median(seconds[(dpi, cap)])
        base = statistics.median(seconds[(dpi, 4800)])
        shown = "as scanned" if cap == 4800 else f"{cap} dpi"
        error = errors[(dpi, cap)]
        print(f"| {dpi} dpi | {shown} | {median:.1f} | {median / base:.2f} | {error:.3f} |")


if __name__ == "__main__":
    main()
