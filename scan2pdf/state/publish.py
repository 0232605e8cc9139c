"""Publish outputs atomically, and say what was published.

Publishing copies into a hidden temporary file on the destination's filesystem (the run's
staging folder under OUTDIR, or beside the final path), fsyncs it, and renames it over the
final path: a same-filesystem ``os.replace``, which POSIX makes atomic. A reader therefore
sees either no file or a whole one, whatever happens to this process. The sidecar is
published before the PDF: the pair only counts as done (``is_up_to_date``) once both
exist, so a crash between the two renames is redone on the next run rather than mistaken
for success.

Every staged copy is hashed as it is written (SHA-256 and size: a ``Digest``), so the
journal can bind each published output to its bytes at no extra read; ``digest_of`` and
``changed`` check later that an output still is what was published before it is reused.
A copy of an earlier output is refused (``OutputChanged``) when its bytes are not the
ones published, before anything is renamed into place.
"""

from __future__ import annotations

import errno
import hashlib
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from scan2pdf.core.jobs import Artifact

_PART_SUFFIX = ".scan2pdf-part"
_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Digest:
    """What a published file is: its size and SHA-256 (hex)."""

    size: int
    sha256: str

    def to_json(self) -> dict[str, object]:
        return {"size": self.size, "sha256": self.sha256}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Digest:
        size, sha = data["size"], data["sha256"]
        assert isinstance(size, int) and isinstance(sha, str)
        return cls(size, sha)


class OutputChanged(Exception):
    """An earlier output is no longer the file that was published under its name."""

    def __init__(self, path: Path) -> None:
        super().__init__(str(path))
        self.path = path


def digest_of(path: Path) -> Digest | None:
    """The file's size and SHA-256, or None when it cannot be read (gone, a folder)."""
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("rb") as stream:
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
    except OSError:
        return None
    return Digest(size, digest.hexdigest())


def resized(published: Mapping[Path, Digest]) -> Path | None:
    """The first of ``published`` whose size is no longer the one published (or that is
    gone), or None: a stat each, nothing read."""
    for path, digest in published.items():
        try:
            if path.stat().st_size != digest.size:
                return path
        except OSError:
            return path
    return None


def changed(published: Mapping[Path, Digest]) -> Path | None:
    """The first of ``published`` that no longer hashes as it was published, or None.
    A size that differs is seen from a stat (``resized``), without reading the file."""
    gone = resized(published)
    if gone is not None:
        return gone
    for path, digest in published.items():
        if digest_of(path) != digest:
            return path
    return None


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# Read once: os.umask can only be read by setting it, which is not thread safe.
_UMASK = _current_umask()
# mkstemp creates 0600; outputs get the permissions any new file would.
NEW_FILE_MODE = 0o666 & ~_UMASK


def publish(src: Artifact, dst: Path, staging: Path | None = None) -> Digest:
    """Copy ``src`` (a file, or the bytes a remote worker sent) to ``dst`` so that ``dst``
    is never seen half-written; return what was published.

    The copy is made in ``staging`` (a run's own folder on the destination's filesystem,
    swept if the run is killed) or, without one, as a hidden file beside ``dst``.
    """
    tmp, digest = _stage(src, dst, staging)
    try:
        _commit(tmp, dst, staging)
    finally:
        tmp.unlink(missing_ok=True)
    return digest


def _stage(
    src: Artifact, dst: Path, staging: Path | None, expect: Digest | None = None
) -> tuple[Path, Digest]:
    """The whole copy, fsynced, on ``dst``'s filesystem (where a full disk shows itself),
    hashed as it is written. With ``expect``, a source whose bytes are not those raises
    ``OutputChanged`` and nothing is left staged."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    # The name's start only: a 250-byte name plus the suffix would pass NAME_MAX (255).
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{dst.name[:64]}.", suffix=_PART_SUFFIX, dir=staging or dst.parent
    )
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            if isinstance(src, bytes):
                out.write(src)
                digest.update(src)
                size = len(src)
            else:
                with src.open("rb") as inp:
                    while chunk := inp.read(_CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        size += len(chunk)
            written = Digest(size, digest.hexdigest())
            if expect is not None and written != expect:
                assert isinstance(src, Path)
                raise OutputChanged(src)
            out.flush()
            os.fsync(out.fileno())
        tmp.chmod(NEW_FILE_MODE)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp, written


def _commit(tmp: Path, dst: Path, staging: Path | None) -> None:
    try:
        os.replace(tmp, dst)
    except OSError as exc:
        if exc.errno != errno.EXDEV or staging is None:
            raise
        publish(tmp, dst)  # dst's folder is another mount: stage beside it instead


@dataclass(frozen=True, slots=True)
class Staged:
    """Copies staged for their final paths, and what each will be once renamed there."""

    files: tuple[tuple[Path, Path], ...]  # (staged copy, final path), in commit order
    published: dict[Path, Digest]


@contextmanager
def staged(
    copies: Sequence[tuple[Artifact, Path]],
    staging: Path | None = None,
    expect: Mapping[Path, Digest] | None = None,
) -> Iterator[Staged]:
    """Stage every copy (``(source, final path)``, in the order they are to be renamed)
    before any is renamed into place: a disk that fills while the PDF is copied leaves
    neither (not a sidecar without its PDF). ``expect``: the digests the sources must
    have (earlier outputs being copied), else ``OutputChanged``. Whatever is not
    committed is removed on the way out."""
    files: list[tuple[Path, Path]] = []
    published: dict[Path, Digest] = {}
    try:
        for src, dst in copies:
            want = expect.get(Path(src)) if expect is not None and isinstance(src, Path) else None
            tmp, digest = _stage(src, dst, staging, want)
            files.append((tmp, dst))
            published[dst] = digest
        yield Staged(tuple(files), published)
    finally:
        for tmp, _ in files:
            tmp.unlink(missing_ok=True)


def commit(ready: Staged, staging: Path | None = None) -> None:
    """Rename the staged copies into place, in order. Should one rename fail, those
    already renamed are taken back out: never a sidecar published without its PDF."""
    done: list[Path] = []
    try:
        for tmp, dst in ready.files:
            _commit(tmp, dst, staging)
            done.append(dst)
    except BaseException:
        for dst in done:
            dst.unlink(missing_ok=True)
        raise


def publish_pair(
    pdf_src: Artifact, txt_src: Artifact, pdf_dst: Path, txt_dst: Path, staging: Path | None = None
) -> dict[Path, Digest]:
    """The sidecar, then the PDF, staged both before either is renamed into place."""
    with staged([(txt_src, txt_dst), (pdf_src, pdf_dst)], staging) as ready:
        commit(ready, staging)
    return ready.published


def is_up_to_date(source: Path, pdf: Path, txt: Path) -> bool:
    """Both outputs exist and neither is older than the input (a cheap stat, no reading)."""
    try:
        source_mtime = source.stat().st_mtime_ns
        return all(out.stat().st_mtime_ns >= source_mtime for out in (pdf, txt))
    except OSError:
        return False
