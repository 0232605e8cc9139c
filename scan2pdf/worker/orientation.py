"""Which way up a page is: read from what Tesseract made of it, checked only when in doubt.

Asking Tesseract's orientation detector about every page costs about 0.7 s of CPU a page
whatever its resolution (measured 2026-12-02 on a 300 dpi Letter page that Tesseract
reads in 2.9 s: a quarter of the work), and on small pages it is rarely sure (9-11 on the
corpus's rotated 640x480 pages, under OCRmyPDF's threshold of 14). So the first reading,
which is needed anyway, decides whether a page needs a look at all: an upright page of
text reads with a high word confidence and with its words laid across the page. Only a
page that reads badly, or whose words stand on end (Tesseract reads a sideways page
fluently but leaves it sideways), is checked: the detector first, then, when it is not
sure, a sample of the page recognised as it is and turned the ways that could read
better (a quarter either way for words on end, else a half), keeping the one that reads
clearly best and leaving the page as it is when none does.
"""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from scan2pdf.worker.loaded import TSV_HEADER, Detected, available, detect, sample_tsv
from scan2pdf.worker.scripts import unread_script

# A page that reads under this mean word confidence (0-100, Tesseract's) is looked at.
# Upright pages of the corpus read at 82-96, upside-down ones at 37.
DOUBTFUL_CONFIDENCE = 70.0
# Share of the text in words laid on end (taller than wide) above which a page is sideways.
SIDEWAYS_SHARE = 0.5
# OCRmyPDF's own default for trusting the detector (--rotate-pages-threshold, 17.x).
DETECTOR_THRESHOLD = 14.0
# A turn is kept when its sample reads this much better than the page as it is, both
# by this many points and by this factor, and well in itself. The factor: Chinese in a
# short line, turned 90°, reads at 71 where upright it reads at 54 (tessjs__chinese.png);
# a Latin page upside down reads at about 40 against 96.
_CLEARLY_BETTER = 15.0
_BETTER_FACTOR = 1.5
_GOOD_ENOUGH = 60.0
# Samples of larger pages: a centred square of this many pixels a side.
_SAMPLE_SIDE = 1500
_CJK = re.compile(r"[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_OSD_LINE = re.compile(
    r"^(Orientation in degrees|Orientation confidence|Script|Script confidence): *(\S+)", re.M
)
# The detector's script confidence above which a page is taken to be in that script.
# Measured 2026-12-02, every page in four turns: Latin pages of the corpus and samples
# 2.2-50 (all named Latin); the Chinese notice 0.62-1.43 (Han); a dim photo of print
# (ocrmypdf__congress.jpg) named Thai at 0.26-0.36, which must not count.
SCRIPT_SURE = 0.5


@dataclass(frozen=True, slots=True)
class Reading:
    """What one recognition of a page found."""

    words: int = 0
    chars: int = 0
    # Mean word confidence weighted by word length; None when no word was found.
    confidence: float | None = None
    # Share of the characters in words (3+ letters, not CJK) that stand on end.
    on_end: float = 0.0
    # Share of the characters that are Chinese, Japanese or Korean.
    cjk: float = 0.0

    @property
    def score(self) -> float:
        """How well the page reads the right way up: confidence, less what stands on end."""
        return (self.confidence or 0.0) * (1.0 - self.on_end)

    def doubtful(self) -> bool:
        """Whether the page needs a look. A short label read confidently does not: turned,
        it would read poorly or stand on end, and a batch of one-line files would pay the
        detector and four readings on every page."""
        if self.confidence is None:
            return False  # nothing read: a blank page has no way up
        return self.confidence < DOUBTFUL_CONFIDENCE or self.on_end > SIDEWAYS_SHARE


@dataclass(frozen=True, slots=True)
class Turn:
    """Degrees clockwise to add to the page's rotation (0, 90, 180, 270), and why."""

    angle: int
    how: str


def read_tsv(path: Path) -> Reading:
    """A Tesseract TSV (``tessedit_create_tsv``) of one page -> the page's reading."""
    return read_tsv_pages(path).get(1, Reading())


def read_tsv_pages(path: Path) -> dict[int, Reading]:
    """A Tesseract TSV of one or more pages -> each page's reading, by its ``page_num``."""
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        return _readings(handle)


def _readings(lines: Iterable[str]) -> dict[int, Reading]:
    """Rows of a Tesseract TSV -> each page's reading, by its ``page_num``."""
    tallies: dict[int, _Tally] = {}
    for row in csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE):
        text = (row.get("text") or "").strip()
        try:
            level, conf = int(row["level"]), float(row["conf"])
            width, height = int(row["width"]), int(row["height"])
            page = int(row["page_num"])
        except (KeyError, TypeError, ValueError):
            continue
        if level != 5 or conf < 0 or not text:
            continue
        tallies.setdefault(page, _Tally()).add(text, conf, on_end=height > width)
    return {page: tally.reading() for page, tally in tallies.items()}


@dataclass(slots=True)
class _Tally:
    """One page's running sums while its rows of a TSV are read."""

    words: int = 0
    chars: int = 0
    cjk: int = 0
    weighted: float = 0.0
    on_end: float = 0.0
    checked: float = 0.0

    def add(self, text: str, conf: float, on_end: bool) -> None:
        self.words += 1
        self.chars += len(text)
        self.weighted += conf * len(text)
        self.cjk += len(_CJK.findall(text))
        if len(text) >= 3 and not _CJK.search(text):
            self.checked += len(text)
            if on_end:
                self.on_end += len(text)

    def reading(self) -> Reading:
        chars = self.chars
        return Reading(
            words=self.words,
            chars=chars,
            confidence=self.weighted / chars if chars else None,
            on_end=self.on_end / self.checked if self.checked else 0.0,
            cjk=self.cjk / chars if chars else 0.0,
        )


def decide(image: Path, languages: list[str], first: Reading, timeout: float) -> Turn:
    """The turn that puts the page in ``image`` upright; 0 when it is, or none is clearly."""
    detected = _detector(image, timeout)
    if detected is not None and detected.confidence >= DETECTOR_THRESHOLD:
        return Turn(
            (360 - detected.angle) % 360,
            f"Tesseract's orientation detector, confidence {detected.confidence:.1f}",
        )
    if detected is not None and detected.script_confidence >= SCRIPT_SURE:
        suggested = unread_script(detected.script, languages)
        if suggested is not None:
            return Turn(
                0,
                f"it looks written in {detected.script} script (Tesseract's detector, "
                f"confidence {detected.script_confidence:.2f}), which -l "
                f"{'+'.join(languages)} does not read; give -l its language ({suggested})",
            )
    if first.cjk > 0.5:
        # Tesseract's word confidence in Chinese says little about which way up a page
        # is: an upright line of the corpus reads at 5, the same line upside down at 48.
        return Turn(
            0,
            "Tesseract's orientation detector is not sure, and Chinese, Japanese or Korean "
            "text cannot be judged by reading it four ways",
        )
    with Image.open(image) as opened:
        sample, whole = _sample(opened)
        # Only the turns that could read better: a score counts words standing on end
        # against a way up, so turned a quarter, a page of words laid across reads with
        # its words on end (scoring near 0), and turned a half, a sideways page stays
        # sideways. A third or half of the readings (issue 34: the sample was the largest
        # cost of the check after the second reading itself).
        candidates = (90, 270) if first.on_end > SIDEWAYS_SHARE else (180,)
        angles = candidates if whole else (0, *candidates)
        # Image.rotate turns counter-clockwise; a page's /Rotate turns clockwise.
        turned = [sample.rotate(-angle, expand=True) if angle else sample for angle in angles]
        with tempfile.TemporaryDirectory(prefix="orient-") as work:
            readings = _recognise(turned, Path(work), languages, timeout)
    scores = {0: first.score} if whole else {}  # in turning order either way: 0 first
    scores |= {angle: readings.get(n, Reading()).score for n, angle in enumerate(angles, 1)}
    best = max(scores, key=lambda a: scores[a])
    shown = ", ".join(f"{a}°: {s:.0f}" for a, s in scores.items())
    top, now = scores[best], scores[0]
    if (
        best
        and top >= _GOOD_ENOUGH
        and top >= now + _CLEARLY_BETTER
        and top >= now * _BETTER_FACTOR
    ):
        return Turn(best, f"it reads best that way in a sample read turned ({shown})")
    return Turn(0, f"no way up reads clearly better in a sample ({shown})")


def _detector(image: Path, timeout: float) -> Detected | None:
    """Tesseract's orientation and script detector, or None where it has no answer: the
    one loaded in this worker where there is one (``worker/loaded.py``), else the program."""
    if available():
        return detect(image)
    try:
        done = subprocess.run(
            ["tesseract", os.fspath(image), "stdout", "--psm", "0", "-l", "osd"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = dict(_OSD_LINE.findall(done.stdout))
    if done.returncode != 0 or len(found) != 4:
        return None  # "Too few characters", or no osd data installed
    return Detected(
        int(float(found["Orientation in degrees"])),
        float(found["Orientation confidence"]),
        found["Script"],
        float(found["Script confidence"]),
    )


def _sample(image: Image.Image) -> tuple[Image.Image, bool]:
    """The part of the page to recognise four times, and whether it is the whole page."""
    picture = image.convert("L") if image.mode not in ("1", "L") else image
    if picture.width <= _SAMPLE_SIDE and picture.height <= _SAMPLE_SIDE:
        return picture, True
    side = min(_SAMPLE_SIDE, picture.width, picture.height)
    left, top = (picture.width - side) // 2, (picture.height - side) // 2
    return picture.crop((left, top, left + side, top + side)), False


def _recognise(
    images: list[Image.Image], work: Path, languages: list[str], timeout: float
) -> dict[int, Reading]:
    """Each image's reading, by its 1-based place in ``images``. One Tesseract reads them
    all, as the pages of one TIFF: starting Tesseract and loading a language's model costs
    about 0.1 s of CPU, as much as reading half a small page. Where a Tesseract is loaded
    in this worker it reads them instead, with no program to start."""
    if available():
        return _recognise_loaded(images, work, languages, timeout)
    path = work / "samples.tif"
    dpi = images[0].info.get("dpi", (300, 300))
    # Uncompressed: these pixels are read once, right away.
    images[0].save(path, save_all=True, append_images=images[1:], dpi=dpi)
    base = work / "samples"
    try:
        subprocess.run(
            ["tesseract", os.fspath(path), os.fspath(base), "-l", "+".join(languages), "tsv"],
            capture_output=True,
            timeout=timeout * len(images),
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return {}
    return read_tsv_pages(base.with_suffix(".tsv"))


def _recognise_loaded(
    images: list[Image.Image], work: Path, languages: list[str], timeout: float
) -> dict[int, Reading]:
    readings: dict[int, Reading] = {}
    for number, image in enumerate(images, 1):
        # From a file, as the program reads it (the same resolution, the same pixels).
        path = work / f"sample-{number}.tif"
        image.save(path, dpi=image.info.get("dpi", (300, 300)))
        tsv = sample_tsv(path, languages, timeout)
        if tsv is not None:
            readings[number] = _readings(io.StringIO(TSV_HEADER + tsv)).get(1, Reading())
    return readings
