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


def program_installed(name: str) -> bool:
    """Whether an executable of that name is on PATH.

    This, not the version, decides "not found": asking a program its version starts it,
    and a start that fails or is slow once (a loaded machine, a fork refused) must not
    stop a batch with "Required program not found" for a program that is there.
    """
    return shutil.which(name) is not None


@cache
def program_version(name: str) -> str | None:
    """The program's version for reports and ``doctor``; None when it is not installed,
    "unknown" when it is but did not say (or did not run in time)."""
    if not program_installed(name):
        return None
    try:
        done = subprocess.run(
            [name, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
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
    return tuple(sorted(_languages_listed(_first_listing())))


class _Languages:
    """The languages as last listed, and the tessdata folder's modification time then."""

    def __init__(self) -> None:
        self.stamp: int | None = None
        self.languages: frozenset[str] = frozenset()

    def now(self) -> frozenset[str]:
        folder = tessdata_folder()  # the first listing, once per process
        try:
            stamp = folder.stat().st_mtime_ns if folder is not None else None
        except OSError:
            stamp = None
        if stamp is None:  # nowhere to watch: list every time
            return _languages_listed(_list_langs())
        if self.stamp is None:  # the first listing is this one
            self.stamp, self.languages = stamp, _languages_listed(_first_listing())
        elif stamp != self.stamp:
            self.stamp, self.languages = stamp, _languages_listed(_list_langs())
        return self.languages


_LANGUAGES = _Languages()


def current_languages() -> frozenset[str]:
    """``installed_languages`` for a long-lived worker: ``tesseract --list-langs`` is run
    again only when the tessdata folder changed (installing or removing a pack changes its
    modification time), so a pack installed while ``watch`` runs is seen."""
    return _LANGUAGES.now()


@cache
def _first_listing() -> str:
    return _list_langs()


def forget() -> None:
    """Drop every cached answer (for a process whose PATH or tessdata changed: tests)."""
    for cached in (program_version, installed_languages, tessdata_folder, _first_listing):
        cached.cache_clear()
    _LANGUAGES.stamp = None


def _languages_listed(listing: str) -> frozenset[str]:
    # The first line is a header: List of available languages in "...": N
    return frozenset(line.strip() for line in listing.splitlines()[1:] if line.strip())


@cache
def tessdata_folder() -> Path | None:
    """Where Tesseract reads its traineddata, from the same header line."""
    found = _TESSDATA.search(_first_listing())
    return Path(found.group(1)) if found else None


def debian_language_package(language: str) -> str:
    return "tesseract-ocr-" + language.lower().replace("_", "-")


def check_environment(options: Options) -> None:
    """Raise MissingDependencyError naming everything missing, and how to install it."""
    needed = [p for p in PROGRAMS if p.required or p.name in options.needs_programs()]
    missing = [p for p in needed if not program_installed(p.name)]
    if missing:
        names = ", ".join(f"{p.name} ({p.purpose})" for p in missing)
        packages = " ".join(p.package for p in missing)
        raise MissingDependencyError(
            f"Required program{'s' if len(missing) > 1 else ''} not found: {names}.",
            f"Install {'them' if len(missing) > 1 else 'it'}, for example: "
            f"apt-get install {packages}",
        )
    wanted = list(options.languages)
    if options.rotate_pages:
        wanted.append("osd")  # Tesseract's orientation detection, used by --rotate-pages
    installed = installed_languages()
    absent = [lang for lang in wanted if lang not in installed]
    if absent:
        packages = " ".join(debian_language_package(lang) for lang in absent)
        many = len(absent) > 1
        raise MissingDependencyError(
            f"Tesseract language pack{'s' if many else ''} not installed: "
            f"{', '.join(absent)}. Installed: {', '.join(installed) or 'none'}.",
            f"Install {'them' if many else 'it'}, for example: apt-get install {packages}",
        )
