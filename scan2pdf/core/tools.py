"""The external programs and Tesseract language packs scan2pdf runs with.

Checked once, in the coordinator, before any work starts: a missing program or language
would otherwise fail every single file of a batch, one by one, with the same message.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from scan2pdf.core.options import Options
from scan2pdf.errors import MissingDependencyError

_VERSION_RE = re.compile(r"(\d+(?:\.\d+)+)")
_TESSDATA = re.compile(r'languages in "([^"]+)"')


@dataclass(frozen=True, slots=True)
class Program:
    name: str
    package: str  # the Debian/Ubuntu package that provides it
    purpose: str
    required: bool


PROGRAMS: tuple[Program, ...] = (
    Program("tesseract", "tesseract-ocr", "OCR engine", required=True),
    Program("gs", "ghostscript", "PDF rendering and PDF/A", required=True),
    Program("unpaper", "unpaper", "--clean", required=False),
    Program("pngquant", "pngquant", "--optimize 2 and 3", required=False),
)


@cache
def program_version(name: str) -> str | None:
    """The program's version, or None when it is not installed (or does not run)."""
    if shutil.which(name) is None:
        return None
    try:
        done = subprocess.run(
            [name, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    match = _VERSION_RE.search(done.stdout + done.stderr)
    return match.group(1) if match else "unknown"


def _list_langs() -> str:
    """What ``tesseract --list-langs`` prints; empty when Tesseract is missing or fails."""
    if shutil.which("tesseract") is None:
        return ""
    try:
        done = subprocess.run(
            ["tesseract", "--list-langs"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout + done.stderr


@cache
def installed_languages() -> tuple[str, ...]:
    """Tesseract's language packs, as ``tesseract --list-langs`` reports them."""
    lines = _list_langs().splitlines()
    # The first line is a header: List of available languages in "...": N
    return tuple(sorted(line.strip() for line in lines[1:] if line.strip()))


@cache
def tessdata_folder() -> Path | None:
    """Where Tesseract reads its traineddata, from the same header line."""
    found = _TESSDATA.search(_list_langs())
    return Path(found.group(1)) if found else None


def debian_language_package(language: str) -> str:
    return "tesseract-ocr-" + language.lower().replace("_", "-")


def check_environment(options: Options) -> None:
    """Raise MissingDependencyError naming everything missing, and how to install it."""
    needed = [p for p in PROGRAMS if p.required or p.name in options.needs_programs()]
    missing = [p for p in needed if program_version(p.name) is None]
    if missing:
        names = ", ".join(f"{p.name} ({p.purpose})" for p in missing)
        packages = " ".join(p.package for p in missing)
        raise MissingDependencyError(
            f"Required program not found: {names}.",
            f"Install it, for example: apt-get install {packages}",
        )
    wanted = list(options.languages)
    if options.rotate_pages:
        wanted.append("osd")  # Tesseract's orientation detection, used by --rotate-pages
    installed = installed_languages()
    absent = [lang for lang in wanted if lang not in installed]
    if absent:
        packages = " ".join(debian_language_package(lang) for lang in absent)
        raise MissingDependencyError(
            f"Tesseract language pack not installed: {', '.join(absent)}. "
            f"Installed: {', '.join(installed) or 'none'}.",
            f"Install it, for example: apt-get install {packages}",
        )
