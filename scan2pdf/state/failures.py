"""The failure folder: each failed input copied there, mirrored, with the reason beside it.

``<DIR>/<rel>/<name>`` is a copy of the input (never moved by convert: inputs are only
read) and ``<DIR>/<rel>/<name>.error.json`` says why, how often it was tried, and with
which tools, so that someone can fix the file and drop it back, or report a bug.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import tempfile
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from scan2pdf.core.archives import identity_path
from scan2pdf.core.report import FileResult
from scan2pdf.core.tools import program_version
from scan2pdf.errors import location_error
from scan2pdf.state.publish import NEW_FILE_MODE, publish


def prepare_folder(folder: Path, label: str = "the failure folder (--failed)") -> None:
    """Make sure a folder originals go to (--failed, --done) can be used before the run
    starts (LocationError, exit 4, if not)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise location_error(label, folder, exc) from exc
    if not os.access(folder, os.W_OK | os.X_OK):
        raise location_error(label, folder, PermissionError(13, "Permission denied"))


def keep_failed_input(
    result: FileResult,
    source: Path,
    rel: Path,
    failed_dir: Path,
    attempts: int,
    move: bool = False,
) -> Path:
    """Copy (convert) or move (watch: the claimed file leaves the inbox) the input.

    ``source`` is where its bytes are; ``result.input`` its identity, which the error file
    names. Raises OSError when the failure folder cannot be written.
    """
    folder = failed_dir / rel
    folder.mkdir(parents=True, exist_ok=True)
    target = free_name(folder / source.name) if move else folder / source.name
    if move:
        # Not suppressed: an original that cannot leave its claim stays claimed (the
        # service says so), and no error file stands beside a file that is not there.
        shutil.move(source, target)
    elif _readable(source):  # an unreadable input: the error file alone says why
        publish(source, target)  # a full disk raises, and leaves no part behind
    error = {
        "input": str(result.input),
        "reason": result.reason,
        "message": result.message,
        "attempts": attempts,
        "failed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "tools": tool_versions(),
    }
    # Written beside its final name, then renamed: readers see a whole file or none.
    with tempfile.NamedTemporaryFile(
        "w", dir=folder, prefix=".", suffix=".json", delete=False, encoding="utf-8"
    ) as tmp:
        try:
            json.dump(error, tmp, indent=2, ensure_ascii=False)
            tmp.flush()
        except BaseException:
            Path(tmp.name).unlink(missing_ok=True)  # a full disk: no empty file left
            if not move:
                target.unlink(missing_ok=True)  # a copy is kept with its reason, or not
            raise
    os.chmod(tmp.name, NEW_FILE_MODE)
    os.replace(tmp.name, folder / f"{target.name}.error.json")
    return target


def _readable(path: Path) -> bool:
    try:
        with path.open("rb"):
            return True
    except OSError:
        return False


def free_name(path: Path) -> Path:
    """``path``, or ``name-2.ext``, ``name-3.ext``...: the first that does not exist yet."""
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate


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


def kept_original(identity: str) -> Path | None:
    """Where the watch service moved a failed drop: ``INBOX/.scan2pdf/failed/<rel>/`` (the
    default failed folder), the file whose ``.error.json`` names ``identity``; the newest
    when there are several. None when there is none (``retry`` then reports it unreadable)."""
    dropped = identity_path(identity)
    for inbox in dropped.parents:
        folder = inbox / ".scan2pdf" / "failed" / dropped.parent.relative_to(inbox)
        if not folder.is_dir():
            continue
        found: list[tuple[float, Path]] = []
        for error in folder.glob(f"{glob.escape(dropped.stem)}*.error.json"):
            try:
                about = json.loads(error.read_text(encoding="utf-8"))
                original = error.with_name(error.name.removesuffix(".error.json"))
                if about.get("input") == identity and original.is_file():
                    found.append((error.stat().st_mtime, original))
            except (OSError, ValueError, AttributeError):
                continue
        if found:
            return max(found)[1]
    return None
