"""The one options object shared by the CLI, the Python API, watch and the workers.

It is frozen (a run cannot change it half-way) and made of plain values, so it pickles
cheaply into worker processes and, later, onto Dask workers.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, fields
from typing import Literal

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
#   picks it when a language written right to left is asked for.
PDF_RENDERERS: tuple[str, ...] = ("auto", "sandwich", "fpdf2")
# Tesseract traineddata names of languages written right to left.
RIGHT_TO_LEFT = frozenset({"ara", "heb", "fas", "urd", "yid", "syr", "div", "pus", "snd", "uig"})

_LANGUAGE_RE = re.compile(r"^[A-Za-z0-9_]+$")


@dataclass(frozen=True, slots=True)
class Options:
    """How to convert. Defaults are what ``scan2pdf convert`` does without options."""

    languages: tuple[str, ...] = ("eng",)
    # Total CPU budget for the run; None means "the cores this process may use".
    jobs: int | None = None
    output_type: str = "auto"
    existing_text: ExistingText = "skip"
    # DPI assumed for images that carry none; OCR accuracy depends on it.
    image_dpi: int = 300
    rotate_pages: bool = False
    deskew: bool = False
    clean: bool = False
    optimize: int = 1
    pdf_renderer: str = "auto"
    # Redo inputs whose outputs are already up to date.
    force: bool = False
    # Images above this many megapixels are refused (reason too_large) before decoding;
    # also OCRmyPDF's limit for images inside PDFs. 250 is OCRmyPDF 17's own default.
    max_image_mpixels: float = 250.0
    # Convert digitally signed PDFs anyway (the signature no longer validates).
    invalidate_signatures: bool = False
    # Seconds one file may take before it is stopped and failed (reason timeout).
    timeout: float = 3600.0
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
        if self.jobs is not None and self.jobs < 1:
            raise UsageError(f"--jobs must be at least 1, not {self.jobs}.")
        if self.output_type not in OUTPUT_TYPES:
            raise UsageError(
                f"Unknown output type '{self.output_type}'.",
                f"Use one of: {', '.join(OUTPUT_TYPES)}.",
            )
        if self.existing_text not in EXISTING_TEXT_MODES:
            raise UsageError(
                f"Unknown existing-text mode '{self.existing_text}'.",
                "Use skip, redo or force.",
            )
        if not 10 <= self.image_dpi <= 4800:
            raise UsageError(f"--image-dpi must be between 10 and 4800, not {self.image_dpi}.")
        if self.max_image_mpixels <= 0:
            raise UsageError("--max-image-mpixels must be positive.")
        if self.timeout <= 0:
            raise UsageError("--timeout must be positive.")
        if self.pdf_renderer not in PDF_RENDERERS:
            raise UsageError(
                f"Unknown PDF renderer '{self.pdf_renderer}'.",
                f"Use one of: {', '.join(PDF_RENDERERS)}.",
            )
        if not 0 <= self.optimize <= 3:
            raise UsageError(f"--optimize must be 0, 1, 2 or 3, not {self.optimize}.")

    @staticmethod
    def parse_languages(spec: str) -> tuple[str, ...]:
        """``"eng+spa"`` (Tesseract's own syntax) or ``"eng,spa"`` -> ``("eng", "spa")``."""
        return tuple(part for part in re.split(r"[+,]", spec.strip()) if part)

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-able values (the journal keeps them for ``retry``)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["languages"] = list(self.languages)
        values["ocrmypdf_extra"] = [list(pair) for pair in self.ocrmypdf_extra]
        return values

    @classmethod
    def from_dict(cls, values: dict[str, object], **overrides: object) -> Options:
        known = {f.name for f in fields(cls)}
        data = {k: v for k, v in values.items() if k in known} | overrides
        data["languages"] = tuple(data.get("languages", ("eng",)))  # type: ignore[arg-type]
        data["ocrmypdf_extra"] = tuple(tuple(p) for p in data.get("ocrmypdf_extra", ()))  # type: ignore[attr-defined]
        return cls(**data)  # type: ignore[arg-type]

    def fingerprint(self) -> str:
        """A digest of the options that shape the output (not jobs, force or timeout).

        A file converted with another fingerprint is converted again.
        """
        values = self.to_dict()
        for run_only in ("jobs", "force", "timeout"):
            values.pop(run_only)
        digest = hashlib.sha256(json.dumps(values, sort_keys=True).encode())
        return digest.hexdigest()[:16]

    @property
    def renderer(self) -> str:
        """The renderer OCRmyPDF is asked for: "auto" resolved as described at PDF_RENDERERS."""
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
