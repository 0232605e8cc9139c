"""Which Tesseract languages read a script, as the orientation detector names scripts.

Used when a page reads poorly: if the detector says the page is written in a script that
none of ``-l``'s languages reads (a Chinese notice in a batch read with ``-l eng``), then
reading it in four orientations cannot find the way up (a Latin model reads Chinese as
noise whichever way it is turned), and the user is better told which language to add.

Only scripts named here are judged; a page in any other script (Latin above all, which
most of Tesseract's languages read) is checked as before.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Script:
    readers: frozenset[str]  # the language packs that read it
    suggested: str  # what to suggest for -l


def _script(suggested: str, *readers: str) -> Script:
    return Script(frozenset(readers), suggested)


# The detector's script names (osd.traineddata, Tesseract 5) -> the language packs that
# read them (Debian's tesseract-ocr-<lang>, and Tesseract's own script/<Name> packs).
SCRIPTS: dict[str, Script] = {
    "Han": _script(
        "chi_sim, chi_tra or jpn",
        *("chi_sim", "chi_tra", "chi_sim_vert", "chi_tra_vert", "jpn", "jpn_vert", "kor"),
    ),
    "Japanese": _script("jpn", "jpn", "jpn_vert"),
    "Korean": _script("kor", "kor", "kor_vert"),
    "Hangul": _script("kor", "kor", "kor_vert"),
    "Cyrillic": _script(
        "rus, ukr or bul",
        *("rus", "ukr", "bel", "bul", "mkd", "srp", "kaz", "kir", "tgk", "mon", "tat", "bak"),
    ),
    "Arabic": _script("ara, fas or urd", "ara", "fas", "urd", "pus", "uig", "snd"),
    "Hebrew": _script("heb", "heb", "yid"),
    "Greek": _script("ell", "ell", "grc"),
    "Devanagari": _script("hin, mar or nep", "hin", "mar", "nep", "san"),
    "Thai": _script("tha", "tha"),
}


def unread_script(script: str, languages: list[str]) -> str | None:
    """What to suggest for -l when ``script`` is one this module knows and no language in
    ``languages`` reads; None otherwise."""
    known = SCRIPTS.get(script)
    if known is None:
        return None
    if any(lang in known.readers or lang.startswith(f"script/{script}") for lang in languages):
        return None
    return known.suggested
