"""The one options object shared by the CLI, the Python API, watch and the workers.

It is frozen (a run cannot change it half-way) and made of plain values, so it pickles
cheaply into worker processes and, later, onto Dask workers.

Each field's default, range, choices and help text are written once, here, in the field's
metadata (``spec``): ``__post_init__`` validates against them, and the command line
(``cli/params.py``) builds its options from them.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from scan2pdf.errors import UsageError

ExistingText = Literal["skip", "redo", "force"]
EXISTING_TEXT_MODES: tuple[ExistingText, ...] = ("skip", "redo", "force")

# OCRmyPDF's --output-type values (17.x). "auto" makes PDF/A when it can without
# Ghostscript and falls back to a plain PDF otherwise: the safest default on machines
# whose Ghostscript (Debian 12 ships 10.00.0) OCRmyPDF refuses for PDF/A with existing text.
OUTPUT_TYPES: tuple[str, ...] = ("auto", "pdfa", "pdf", "pdfa-1", "pdfa-2", "pdfa-3")

# How the invisible text layer is drawn (OCRmyPDF 17.x --pdf-renderer).
# - sandwich: Tesseract writes the text layer itself while it recognises the page (its PDF
#   renderer, in C++). Same words and positions as its hOCR, no second pass in Python:
#   measured 2026-11-21 on the benchmark's mixed batch, OCRmyPDF's fpdf2 renderer (hOCR parse,
#   font load per file, fpdf2 layout) costs about 0.05 s of CPU per page on top, a tenth of
#   all non-Tesseract work. It also keeps CJK text free of the NULs fpdf2 17.x writes.
# - fpdf2: OCRmyPDF 17's default; better with right-to-left scripts, which is why "auto"
#   picks it when a language written right to left is asked for, and for a PDF with fonts
#   it does not embed when the output goes through Ghostscript (worker/engine.py).
PDF_RENDERERS: tuple[str, ...] = ("auto", "sandwich", "fpdf2")
# OCRmyPDF 17's --ocr-engine: "none" is its built-in null engine (no text recognised; the
# pages, PDF/A and existing text layers are still processed). It makes a conversion of a
# page take a fraction of a second, which the coordinator's own tests rely on.
OCR_ENGINES: tuple[str, ...] = ("tesseract", "none")
# Tesseract traineddata names of languages written right to left.
RIGHT_TO_LEFT = frozenset({"ara", "heb", "fas", "urd", "yid", "syr", "div", "pus", "snd", "uig"})

# Options added after journals already recorded fingerprints: at these values they are
# left out of the fingerprint, so outputs made before the option existed stay up to date.
_ADDED_LATER: Mapping[str, object] = {
    "ocr_engine": "tesseract",
    "max_ocr_dpi": 600,
    "upright": True,
}
# Options that say how a run goes, not what its outputs are.
_RUN_ONLY = ("jobs", "force", "timeout")
# Set by the front end for its own runs and never journalled (``to_dict``): they decide
# whether an input gets outputs at all, never what the outputs are, and the journal keeps
# one settings row per fingerprint, written by whichever run came first, so a value kept
# there would follow a retry from another front end's run.
_FRONT_END_ONLY = ("refuse_truncated",)

_LANGUAGE_RE = re.compile(r"^[A-Za-z0-9_]+$")
# Traineddata that Tesseract lists beside the languages but that recognise no text.
_NOT_RECOGNITION = {"osd": "orientation and script detection data"}


def spec(
    default: Any,
    help: str,
    *,
    choices: tuple[str, ...] | None = None,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    group: str = "conversion",
) -> Any:
    """A field whose default, allowed values and help text the CLI reads from here.

    ``group``: "conversion" (what the output looks like: convert and watch) or "run"
    (how a run goes: convert, retry and watch).
    """
    meta = {
        "help": help,
        "choices": choices,
        "low": low,
        "high": high,
        "low_open": low_open,
        "group": group,
    }
    return field(default=default, metadata=meta)


@dataclass(frozen=True, slots=True)
class Options:
    """How to convert. Defaults are what ``scan2pdf convert`` does without options."""

    languages: tuple[str, ...] = spec(
        ("eng",), "Tesseract languages joined with '+', e.g. eng+spa+chi_sim."
    )
    # Total CPU budget for the run; None means "the cores this process may use".
    jobs: int | None = spec(
        None,
        "Total CPU budget (busy threads). Default: the cores this process may use.",
        low=1,
        group="run",
    )
    output_type: str = spec(
        "auto",
        "auto: PDF/A when possible without Ghostscript, else a plain PDF.",
        choices=OUTPUT_TYPES,
    )
    existing_text: ExistingText = spec(  # noqa: RUF009 - spec() is dataclasses.field()
        "skip",
        "Pages that already have text: skip them (keep their text), redo OCR under it, "
        "or force OCR of the rasterised page.",
        choices=EXISTING_TEXT_MODES,
    )
    # DPI assumed for images that carry none; OCR accuracy depends on it.
    image_dpi: int = spec(300, "DPI assumed for images without a credible one.", low=10, high=4800)
    # Pages that read poorly or sideways are checked and turned the right way up
    # (worker/orientation.py); upright pages that read well cost nothing more.
    upright: bool = spec(
        True,
        "Turn pages scanned sideways or upside down the right way up (checks only "
        "pages that read poorly or sideways).",
    )
    rotate_pages: bool = spec(
        False, "Also ask Tesseract's orientation detector about every page (slower; needs osd)."
    )
    deskew: bool = spec(False, "Straighten skewed pages.")
    clean: bool = spec(False, "Clean pages with unpaper before OCR.")
    optimize: int = spec(
        1, "OCRmyPDF's output optimisation level (2 and 3 need pngquant).", low=0, high=3
    )
    pdf_renderer: str = spec(
        "auto",
        "How the text layer is drawn: sandwich (Tesseract's own, fastest) or fpdf2 "
        "(OCRmyPDF's); auto uses fpdf2 only for right-to-left languages and PDFs with "
        "fonts they do not embed.",
        choices=PDF_RENDERERS,
    )
    ocr_engine: str = spec(
        "tesseract",
        "none: recognise no text (pages, PDF/A and existing text layers are still processed).",
        choices=OCR_ENGINES,
    )
    # Redo inputs whose outputs are already up to date.
    force: bool = spec(False, "Convert again even when the outputs are up to date.")
    # Images above this many megapixels are refused (reason too_large) before decoding;
    # also OCRmyPDF's limit for images inside PDFs. 250 is OCRmyPDF 17's own default.
    max_image_mpixels: float = spec(
        250.0,
        "Refuse images larger than this (reason too_large) instead of risking memory.",
        low=0,
        low_open=True,
    )
    # Tesseract reads a downsampled copy of pages scanned finer than this; the PDF keeps
    # the scan as it is. Measured 2026-12-02 (benchmarks/ocr_dpi.py, a 300 dpi UNLV page
    # scaled up): at 1200 dpi Tesseract takes 3.3x as long as at 600 for a character
    # error rate of 0.039 against 0.049; 400 and 300 dpi read it at 0.094. OCRmyPDF's own
    # advice is that little is gained above 400. 600 leaves every ordinary scan alone.
    max_ocr_dpi: int = spec(
        600,
        "Pages scanned at a finer resolution are OCRed from a copy downsampled to this "
        "(the PDF keeps the original scan).",
        low=70,
        high=4800,
    )
    # Convert digitally signed PDFs anyway (the signature no longer validates).
    invalidate_signatures: bool = spec(
        False, "Convert digitally signed PDFs too; their signatures will no longer validate."
    )
    # Seconds one file may take before it is stopped and failed (reason timeout).
    timeout: float = spec(
        3600.0, "Seconds one file may take before it is stopped and failed.", low=0, low_open=True
    )
    # A PDF with pages missing (cut short, worker/preflight.py): False converts the pages
    # it has, with a note saying what is missing (convert); True fails it with reason
    # ``truncated``. The watch service sets it, since a scanner pausing longer than
    # --give-up leaves such a file; ``retry --accept-truncated`` clears it. Not a --flag of
    # its own (no spec) and not journalled (``_FRONT_END_ONLY``).
    refuse_truncated: bool = field(default=False)
    # Extra keyword arguments for ocrmypdf.ocr(), for API users who need one we do not expose.
    ocrmypdf_extra: tuple[tuple[str, object], ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.languages:
            raise UsageError("No OCR language given.", "Pass -l with e.g. eng or eng+spa.")
        for lang in self.languages:
            if not _LANGUAGE_RE.match(lang):
                raise UsageError(
                    f"'{lang}' is not a Tesseract language code.",
                    "Use codes like eng, spa or chi_sim, joined with '+'.",
                )
            if lang in _NOT_RECOGNITION:
                raise UsageError(
                    f"'{lang}' is Tesseract's {_NOT_RECOGNITION[lang]}, not a language to read.",
                    "Use --rotate-pages for orientation; give -l the languages of the text.",
                )
        for f in fields(self):
            _check(f.name, getattr(self, f.name), f.metadata)

    @staticmethod
    def parse_languages(spec: str) -> tuple[str, ...]:
        """``"eng+spa"`` (Tesseract's own syntax) or ``"eng,spa"`` -> ``("eng", "spa")``."""
        return tuple(part for part in re.split(r"[+,]", spec.strip()) if part)

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-able values (the journal keeps them for ``retry``)."""
        values = {
            f.name: getattr(self, f.name) for f in fields(self) if f.name not in _FRONT_END_ONLY
        }
        values["languages"] = list(self.languages)
        values["ocrmypdf_extra"] = [list(pair) for pair in self.ocrmypdf_extra]
        return values

    @classmethod
    def from_dict(cls, values: Mapping[str, object], **overrides: object) -> Options:
        known = {f.name for f in fields(cls)}
        data: dict[str, Any] = {k: v for k, v in values.items() if k in known} | overrides
        data["languages"] = tuple(data.get("languages", ("eng",)))
        data["ocrmypdf_extra"] = tuple(tuple(p) for p in data.get("ocrmypdf_extra", ()))
        return cls(**data)

    def fingerprint(self) -> str:
        """A digest of the options that shape the output (not jobs, force or timeout).

        A file converted with another fingerprint is converted again.
        """
        values = self.to_dict()
        for run_only in _RUN_ONLY:
            values.pop(run_only)
        for name, legacy in _ADDED_LATER.items():
            if values.get(name) == legacy:
                values.pop(name)
        digest = hashlib.sha256(json.dumps(values, sort_keys=True).encode())
        return digest.hexdigest()[:16]

    @property
    def renderer(self) -> str:
        """The renderer OCRmyPDF is asked for: "auto" resolved as described at PDF_RENDERERS."""
        if self.ocr_engine == "none":
            return "fpdf2"  # OCRmyPDF's null engine cannot write a sandwich text layer
        if self.pdf_renderer != "auto":
            return self.pdf_renderer
        rtl = any(lang.split("_")[0] in RIGHT_TO_LEFT for lang in self.languages)
        return "fpdf2" if rtl else "sandwich"

    @property
    def language_spec(self) -> str:
        return "+".join(self.languages)

    def needs_programs(self) -> tuple[str, ...]:
        """External programs these options need beyond Tesseract and Ghostscript."""
        needed: list[str] = []
        if self.clean:
            needed.append("unpaper")
        if self.optimize >= 2:
            needed.append("pngquant")
        return tuple(needed)


def option_flag(name: str) -> str:
    """The command-line spelling of a field: ``image_dpi`` -> ``--image-dpi``."""
    return "--" + name.replace("_", "-")


def _check(name: str, value: object, meta: Mapping[str, Any]) -> None:
    """Validate one field against its ``spec``; messages use the command-line spelling."""
    if value is None or not meta:
        return
    flag = option_flag(name)
    choices = meta.get("choices")
    if choices is not None and value not in choices:
        raise UsageError(f"{flag} cannot be '{value}'.", f"Use one of: {', '.join(choices)}.")
    low, high = meta.get("low"), meta.get("high")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return
    if not math.isfinite(value):
        raise UsageError(f"{flag} must be a finite number, not {value}.")
    if low is not None and (value <= low if meta.get("low_open") else value < low):
        bound = f"more than {low:g}" if meta.get("low_open") else f"at least {low:g}"
        raise UsageError(f"{flag} must be {bound}, not {value:g}.")
    if high is not None and value > high:
        raise UsageError(f"{flag} must be at most {high:g}, not {value:g}.")
