"""Exit codes and the one exception family scan2pdf raises.

Every error a user can cause or fix carries a stable ``reason`` code (it goes into the
JSON Lines report and scripts match on it) and a ``remedy``: a sentence saying what to do.
The CLI prints ``message`` and never a traceback for these; anything that is *not* a
``Scan2PdfError`` is a bug in scan2pdf and is reported as ``internal_error``.
"""

from __future__ import annotations

import re
from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes; the contract is in DESIGN.md ("Exit codes")."""

    OK = 0
    FAILURES = 1  # at least one input failed; every other input was still processed
    USAGE = 2  # Click's own convention for bad usage
    MISSING_DEPENDENCY = 3  # a program or language pack is missing; nothing was processed
    LOCATION = 4  # OUTDIR, the journal, --report, --failed or --done cannot be used
    INTERRUPTED = 130  # 128 + SIGINT, as shells report it


class Scan2PdfError(Exception):
    """Base of every error scan2pdf reports to a user.

    ``detail`` says what happened to this input, ``remedy`` what the user can do about it.
    Both are plain sentences so that ``message`` reads well in a log line or a report.
    """

    reason: str = "error"
    remedy: str = ""
    # When this error ends a whole run, the process exits with this code.
    exit_code: ExitCode = ExitCode.FAILURES

    def __init__(self, detail: str, remedy: str | None = None) -> None:
        detail = sentence(detail)
        super().__init__(detail)
        self.detail = detail
        if remedy is not None:
            self.remedy = remedy

    @property
    def message(self) -> str:
        return f"{self.detail} {self.remedy}".strip()


# ---- run-level errors: nothing is processed ---------------------------------------------


class UsageError(Scan2PdfError):
    """Options or paths that cannot work together; maps to exit code 2."""

    reason = "usage"
    exit_code = ExitCode.USAGE


class MissingDependencyError(Scan2PdfError):
    """A required program or Tesseract language pack is not installed; exit code 3."""

    reason = "missing_dependency"
    exit_code = ExitCode.MISSING_DEPENDENCY


class LocationError(Scan2PdfError):
    """A place the whole run needs (OUTDIR, the journal, --report, --failed, --done, an
    INPUT folder) cannot be used; exit code 4. The message names the place."""

    reason = "location"
    exit_code = ExitCode.LOCATION


def location_error(
    label: str, path: object, exc: OSError, remedy: str | None = None
) -> LocationError:
    """``LocationError`` for an OSError met while preparing ``label`` at ``path``."""
    why = exc.strerror or type(exc).__name__
    return LocationError(
        f"Cannot use {label} '{path}': {why}.",
        remedy or "Check that it exists or can be created, and that this user may write there.",
    )


# ---- per-file errors: the file fails, the batch goes on ---------------------------------


class FileError(Scan2PdfError):
    """A problem with one input; the batch continues with the others."""


class DiskFullError(FileError):
    """No space left where outputs, scratch or the journal go; the run stops cleanly."""

    reason = "disk_full"
    remedy = (
        "The run stopped; nothing partial was left. Free some space and run the same "
        "command again: it continues where it stopped."
    )


class CorruptInputError(FileError):
    reason = "corrupt"
    remedy = "The file is damaged beyond repair; re-scan or re-export it from its source."


class TruncatedPdfError(FileError):
    """A PDF with pages missing: cut short (its writer had not finished, a copy was cut),
    or damaged so that pages its page tree lists are gone. The watch service refuses
    these, since a writer pausing longer than --give-up leaves one; ``detail`` says how
    many pages could be read."""

    reason = "truncated"
    remedy = (
        "If the rest of it is not coming, convert the pages it has with: scan2pdf retry "
        "OUTDIR --reason truncated --accept-truncated (the note names what is missing); "
        "otherwise copy the whole file into the inbox again."
    )


class EncryptedInputError(FileError):
    reason = "encrypted"
    remedy = (
        "Remove the password first (for example: qpdf --decrypt --password=PASSWORD "
        "in.pdf out.pdf) and convert the decrypted copy."
    )


class SignedInputError(FileError):
    reason = "signed"
    remedy = (
        "OCR would invalidate the signature, so the file was left as it is; "
        "use --invalidate-signatures to convert it anyway (keep the original as the signed copy)."
    )


class DynamicXfaError(FileError):
    reason = "xfa"
    remedy = (
        "Its pages are drawn by Adobe's form engine at viewing time, so there is nothing to "
        "OCR; open it in Adobe Acrobat or Reader, print it to PDF, and convert that."
    )


class UnsafeArchiveError(FileError):
    """An archive entry (or a whole archive) that could write outside its folder, point
    elsewhere, or expand without bound (``core/archives.py`` has the rules and limits)."""

    reason = "unsafe_archive"
    remedy = (
        "It was not extracted. If you trust the archive, extract it with a tool you trust, "
        "check what it holds, and convert the folder."
    )


class UnreadableInputError(FileError):
    reason = "unreadable"
    remedy = "Check that the file exists and that this user may read it."


class BadNameError(FileError):
    """A file or folder name scan2pdf cannot carry into its outputs and books."""

    reason = "bad_name"
    remedy = (
        "Rename it (for example with convmv -f latin1 -t utf8, or by hand) and run again; "
        "the rest of the batch is not affected."
    )


class NotAFileError(FileError):
    reason = "not_a_file"
    remedy = "scan2pdf reads regular files only; copy the data into a file and convert that."


class TooLargeError(FileError):
    reason = "too_large"
    remedy = (
        "Raise --max-image-mpixels if this machine has the memory for it, "
        "or split or downsample the image first."
    )


class FileTimeoutError(FileError):
    reason = "timeout"
    remedy = "Raise --timeout if the file is just long, or convert it alone to find the problem."


class OcrError(FileError):
    reason = "ocr_error"
    remedy = "Run again with -v to see what OCRmyPDF and Tesseract reported."


class InvalidOutputError(FileError):
    reason = "invalid_output"
    remedy = "Run again with -v for details; the input may need repair (qpdf in.pdf out.pdf)."


class WorkerCrashedError(FileError):
    reason = "crashed"
    remedy = (
        "This usually means it ran out of memory; "
        "try it alone with -j 1, or with fewer files at once."
    )


class InternalError(FileError):
    reason = "internal_error"
    remedy = "This is a bug in scan2pdf: run again with -v and report the output."


class ConversionError(FileError):
    """One input could not be converted: raised by ``extract_text`` and friends.

    ``reason`` is the input's own reason code (``corrupt``, ``encrypted``, ``timeout``...,
    the same as in the report) and ``message`` its message with the remedy.
    """

    def __init__(self, input: object, reason: str, message: str) -> None:
        super().__init__(message)
        self.input = input
        self.reason = reason


def sentence(text: str) -> str:
    """``text`` as one sentence: a third-party message quoted at the end of ours may end
    in its own full stop ("... (damaged stream.).") or add nothing ("Unexpected
    MemoryError: ."); what a user reads ends in one."""
    text = re.sub(r"(?<!\.)\.\.$", ".", text.strip())
    text = re.sub(r"[:;,]\s*\.$", ".", text)
    return text


def first_line(exc: BaseException) -> str:
    """The first line of an exception's text: third-party messages can run to a page."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
