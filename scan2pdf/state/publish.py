"""Publish outputs atomically.

Publishing copies into a hidden temporary file on the destination's filesystem (the run's
staging folder under OUTDIR, or beside the final path), fsyncs it, and renames it over the
final path: a same-filesystem ``os.replace``, which POSIX makes atomic. A reader therefore
sees either no file or a whole one, whatever happens to this process. The sidecar is
published before the PDF: the pair only counts as done (``is_up_to_date``) once both
exist, so a crash between the two renames is redone on the next run rather than mistaken
for success.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from pathlib import Path

from scan2pdf.core.jobs import Artifact

_PART_SUFFIX = ".scan2pdf-part"


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# Read once: os.umask can only be read by setting it, which is not thread safe.
_UMASK = _current_umask()
# mkstemp creates 0600; outputs get the permissions any new file would.
NEW_FILE_MODE = 0o666 & ~_UMASK


def publish(src: Artifact, dst: Path, staging: Path | None = None) -> None:
    """Copy ``src`` (a file, or the bytes a remote worker sent) to ``dst`` so that ``dst``
    is never seen half-written.

    The copy is made in ``staging`` (a run's own folder on the destination's filesystem,
    swept if the run is killed) or, without one, as a hidden file beside ``dst``.
    """
    tmp = _stage(src, dst, staging)
    try:
        _commit(tmp, dst, staging)
    finally:
        tmp.unlink(missing_ok=True)


def _stage(src: Artifact, dst: Path, staging: Path | None) -> Path:
    """The whole copy, fsynced, on ``dst``'s filesystem: where a full disk shows itself."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    # The name's start only: a 250-byte name plus the suffix would pass NAME_MAX (255).
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{dst.name[:64]}.", suffix=_PART_SUFFIX, dir=staging or dst.parent
    )
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            if isinstance(src, bytes):
                out.write(src)
            else:
                with src.open("rb") as inp:
                    shutil.copyfileobj(inp, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        tmp.chmod(NEW_FILE_MODE)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _commit(tmp: Path, dst: Path, staging: Path | None) -> None:
    try:
        os.replace(tmp, dst)
    except OSError as exc:
        if exc.errno != errno.EXDEV or staging is None:
            raise
        publish(tmp, dst)  # dst's folder is another mount: stage beside it instead


def publish_pair(
    pdf_src: Artifact, txt_src: Artifact, pdf_dst: Path, txt_dst: Path, staging: Path | None = None
) -> None:
    """Both copies are staged before either is renamed into place: a disk that fills
    while the PDF is copied leaves neither (not a sidecar without its PDF)."""
    txt_tmp = _stage(txt_src, txt_dst, staging)
    try:
        pdf_tmp = _stage(pdf_src, pdf_dst, staging)
        try:
            _commit(txt_tmp, txt_dst, staging)
            _commit(pdf_tmp, pdf_dst, staging)
        finally:
            pdf_tmp.unlink(missing_ok=True)
    finally:
        txt_tmp.unlink(missing_ok=True)


def is_up_to_date(source: Path, pdf: Path, txt: Path) -> bool:
    """Both outputs exist and neither is older than the input (a cheap stat, no reading)."""
    try:
        source_mtime = source.stat().st_mtime_ns
        return all(out.stat().st_mtime_ns >= source_mtime for out in (pdf, txt))
    except OSError:
        return False
