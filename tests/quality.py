"""Character error rate, normalised as ../shared/corpus/MANIFEST.md suggests.

NFC-normalise, collapse whitespace, and drop the spaces between CJK characters (Tesseract
puts spaces between Chinese characters that the ground truth does not have).
"""

from __future__ import annotations

import re
import unicodedata

from rapidfuzz.distance import Levenshtein

_CJK = r"\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK_GAP = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])")


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFC", text).replace("\f", " ")
    text = " ".join(text.split())
    return _CJK_GAP.sub("", text)


def cer(reference: str, hypothesis: str) -> float:
    """Edits needed to turn the hypothesis into the reference, per reference character."""
    ref, hyp = normalise(reference), normalise(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return Levenshtein.distance(ref, hyp) / len(ref)
