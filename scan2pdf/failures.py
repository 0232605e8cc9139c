"""The failure folder: each failed input copied there, mirrored, with the reason beside it.

``<DIR>/<rel>/<name>`` is a copy of the input (never moved by convert: inputs are only
read) and ``<DIR>/<rel>/<name>.error.json`` says why, how often it was tried, and with
which tools, so that someone can fix the file and drop it back, or report a bug.
"""

from __future__ import annotations

import json
import tempfile
from contextlib import suppress
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from scan2pdf.output import publish
from scan2pdf.report import FileResult
from scan2pdf.tools import program_version


def keep_failed_input(result: FileResult, rel: Path, failed_dir: Path, attempts: int) -> None:
    folder = failed_dir / rel
    folder.mkdir(parents=True, exist_ok=True)
    with suppress(OSError):  # the input may be unreadable: the error file still says why
        publish(result.input, folder / result.input.name)
    error = {
        "input": str(result.input),
        "reason": result.reason,
        "message": result.message,
        "attempts": attempts,
        "failed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "tools": tool_versions(),
    }
    with tempfile.NamedTemporaryFile(
        "w", dir=folder, suffix=".json", delete=False, encoding="utf-8"
    ) as tmp:
        json.dump(error, tmp, indent=2, ensure_ascii=False)
    publish(Path(tmp.name), folder / f"{result.input.name}.error.json")
    Path(tmp.name).unlink(missing_ok=True)


def tool_versions() -> dict[str, str | None]:
    def package(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    return {
        "scan2pdf": package("scan2pdf"),
        "ocrmypdf": package("ocrmypdf"),
        "tesseract": program_version("tesseract"),
        "ghostscript": program_version("gs"),
    }
