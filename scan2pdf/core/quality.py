"""How sure the OCR of a file is, page by page: what a person should check by eye.

Confidences are Tesseract's word confidences (0-100), a page's being the mean over its
words weighted by their length. Clean print reads at 90-96 (the corpus's phototest,
linn, the UNLV magazine page); a faint 1914 newspaper at 82; a map's scattered labels at
58; a page upside down at about 40. Under ``LOW_CONFIDENCE`` a page is worth a look.

A document preflight had to repair (a damaged PDF, one cut short) is worth a look too,
whatever its confidence: ``repair`` says what was done, and ``status --review`` lists it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

LOW_CONFIDENCE = 70.0
# A page whose reading is this little, this unsure, is specks, not text: it is blank.
_SPECKS_CHARS = 5
_SPECKS_CONFIDENCE = 50.0


@dataclass(frozen=True, slots=True)
class PageRead:
    """One OCRed page's reading: characters found and their mean confidence."""

    chars: int
    confidence: float | None

    @property
    def blank(self) -> bool:
        if self.chars == 0 or self.confidence is None:
            return True
        return self.chars < _SPECKS_CHARS and self.confidence < _SPECKS_CONFIDENCE


@dataclass(frozen=True, slots=True)
class Quality:
    """A file's confidence: the mean over its OCRed pages, and the pages to look at."""

    confidence: float | None
    blank_pages: tuple[int, ...] = ()
    # 1-based page number -> that page's confidence (OCRed pages with text only).
    pages: Mapping[int, float] = field(default_factory=dict)
    # What preflight repaired, where it had to (worker/preflight.py, ``Prepared.repair``):
    # "cut short: 3 of the 10 pages it lists converted, the other 7 are missing". Journal
    # and review only; the report says it in its notes.
    repair: str | None = None

    @property
    def low_confidence_pages(self) -> tuple[int, ...]:
        return tuple(n for n, c in self.pages.items() if c < LOW_CONFIDENCE)

    @classmethod
    def of(
        cls, reads: Mapping[int, PageRead], texts: Sequence[str] = (), repair: str | None = None
    ) -> Quality:
        """From the OCR's page readings; ``texts``, the pages' final text, where known: a
        page whose OCR found nothing but which has text of its own (kept, or under
        ``--existing-text redo``) is not blank. ``repair``: what preflight repaired (no
        reads and a repair still make a Quality, so the document is listed for review)."""
        blank = tuple(
            sorted(
                n
                for n, read in reads.items()
                if read.blank and (n > len(texts) or _visible(texts[n - 1]) < _SPECKS_CHARS)
            )
        )
        scored = {
            n: read.confidence
            for n, read in sorted(reads.items())
            if n not in blank and read.confidence is not None and read.chars
        }
        chars = sum(reads[n].chars for n in scored)
        mean = sum(reads[n].chars * c for n, c in scored.items()) / chars if chars else None
        return cls(
            round(mean, 1) if mean is not None else None,
            blank,
            {n: round(c, 1) for n, c in scored.items()},
            repair,
        )

    def report_fields(self) -> dict[str, object]:
        return {
            "confidence": self.confidence,
            "low_confidence_pages": list(self.low_confidence_pages),
            "blank_pages": list(self.blank_pages),
        }

    def needs_review(self) -> bool:
        return bool(self.low_confidence_pages or self.blank_pages or self.repair)

    def dumps(self) -> str:
        """For the journal."""
        pages = {str(n): c for n, c in self.pages.items()}
        repair = {"repair": self.repair} if self.repair else {}
        return json.dumps({**self.report_fields(), "pages": pages, **repair})

    @classmethod
    def loads(cls, text: str) -> Quality:
        data = json.loads(text)
        return cls(
            data.get("confidence"),
            tuple(data.get("blank_pages", ())),
            {int(n): float(c) for n, c in data.get("pages", {}).items()},
            data.get("repair"),
        )


def _visible(text: str) -> int:
    return sum(1 for ch in text if not ch.isspace())
