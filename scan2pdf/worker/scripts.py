"""Which Tesseract languages read a script, as the orientation detector names scripts.

Used when a page reads poorly: if the detector says the page is written in a script that
none of ``-l``'s languages reads (a Chinese notice in a batch read with ``-l eng``), then
reading it in four orientations cannot find the way up (a Latin model reads Chinese as
noise whichever way it is turned), and the user is better told which language to add.

Only scripts named here are judged; a page in any other script (Latin above all, which
most of Tesseract's languages read) is checked as before.
"""

from __future__ import annotations

# The detector's script names (osd.traineddata, Tesseract 5) -> the language packs that
# read them (Debian's tesseract-ocr-<lang>, and Tesseract's own script/<Name> packs).
READERS: dict[str, frozenset[str]] = {
    "Han": frozenset(
        {"chi_sim", "chi_tra", "chi_sim_vert", "chi_tra_vert", "jpn", "jpn_vert", "kor"}
    ),
    "Japanese": frozenset({"jpn", "jpn_vert"}),
    "Korean": frozenset({"kor", "kor_vert"}),
    "Hangul": frozenset({"kor", "kor_vert"}),
    "Cyrillic": frozenset(
        {"rus", "ukr", "bel", "bul", "mkd", "srp", "kaz", "kir", "tgk", "mon", "tat", "bak"}
    ),
    "Arabic": frozenset({"ara", "fas", "urd", "pus", "uig", "snd"}),
    "Hebrew": frozenset({"heb", "yid"}),
    "Greek": frozenset({"ell", "grc"}),
    "Devanagari": frozenset({"hin", "mar", "nep", "san"}),
    "Thai": frozenset({"tha"}),
}

# What to suggest for -l, by script.
SUGGESTED: dict[str, str] = {
    "Han": "chi_sim, chi_tra or jpn",
    "Japanese": "jpn",
    "Korean": "kor",
    "Hangul": "kor",
    "Cyrillic": "rus, ukr or bul",
    "Arabic": "ara, fas or urd",
    "Hebrew": "heb",
    "Greek": "ell",
    "Devanagari": "hin, mar or nep",
    "Thai": "tha",
}


def unread_script(script: str, languages: list[str]) -> bool:
    """Whether ``script`` is one this module knows and no language in ``languages`` reads."""
    readers = READERS.get(script)
    if readers is None:
        return False
    return not any(lang in readers or lang.startswith(f"script/{script}") for lang in languages)
