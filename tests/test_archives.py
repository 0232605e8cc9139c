"""Zip and tar archives as inputs: mirrored like folders, resumable by member, and every
hostile entry refused with a reason while the rest of the archive converts."""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from scan2pdf.core import archives
from scan2pdf.core.api import convert
from scan2pdf.core.archives import Limits

from .conftest import SAMPLES, run_scan2pdf
from .helpers import pdf_pages, squash, text_image

NULL = ("--ocr-engine", "none")
LETTER = SAMPLES / "letters" / "english-letter.tif"
NOTE = SAMPLES / "letters" / "spanish-note.png"
REPORT = SAMPLES / "reports" / "scanned-report.pdf"
UNSAFE_REMEDY = (
    "It was not extracted. If you trust the archive, extract it with a tool you trust, "
    "check what it holds, and convert the folder."
)


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def reasons(run_report: list[dict[str, object]], base: Path) -> dict[str, tuple[object, ...]]:
    prefix = f"{base}/"
    return {str(r["input"]).removeprefix(prefix): (r["status"], r["reason"]) for r in run_report}


def outcomes(run_report: list[dict[str, object]], base: Path) -> list[tuple[object, ...]]:
    """As ``reasons``, for reports where two entries share a name (a duplicated entry)."""
    prefix = f"{base}/"
    return sorted(
        (str(r["input"]).removeprefix(prefix), r["status"], r["reason"] or "") for r in run_report
    )


def test_zip_and_tar_members_are_ocred_into_a_mirrored_tree(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    page_a = text_image(tmp_path / "a.png", "Archive member alpha")
    page_b = text_image(tmp_path / "b.png", "Tarball member bravo")
    with zipfile.ZipFile(src / "box12.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.write(page_a, "folder3/alpha.png")
        z.write(REPORT, "folder3/report.pdf")
    with tarfile.open(src / "vendor.tar.gz", "w:gz") as t:
        t.add(page_b, "bravo.png")
    before = tree_digest(src)

    run = run_scan2pdf("convert", src, "-o", out, report=tmp_path / "r.jsonl")

    assert run.returncode == 0, run.stderr
    assert reasons(run.report, src) == {
        "box12.zip!/folder3/alpha.png": ("converted", None),
        "box12.zip!/folder3/report.pdf": ("converted", None),
        "vendor.tar.gz!/bravo.png": ("converted", None),
    }
    assert "archivememberalpha" in squash((out / "box12/folder3/alpha.txt").read_text())
    assert "tarballmemberbravo" in squash((out / "vendor/bravo.txt").read_text())
    assert pdf_pages(out / "box12/folder3/report.pdf") == 2
    assert tree_digest(src) == before  # inputs only read
    assert not any((out / ".scan2pdf" / "staging").rglob("*.png"))  # extractions removed


def test_rerun_skips_members_done_and_converts_only_changed_ones(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    archive = src / "box.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(NOTE, "a/note.png")
        z.write(LETTER, "letter.tif")
    first = run_scan2pdf("convert", src, "-o", out, *NULL, report=tmp_path / "1.jsonl")
    assert first.returncode == 0, first.stderr
    again = run_scan2pdf("convert", src, "-o", out, *NULL, report=tmp_path / "2.jsonl")
    assert {r["reason"] for r in again.report} == {"up_to_date"}

    with zipfile.ZipFile(archive, "w") as z:  # the vendor re-sends it with one page redone
        z.write(NOTE, "a/note.png")
        z.write(REPORT, "letter.tif")
    third = run_scan2pdf("convert", src, "-o", out, *NULL, report=tmp_path / "3.jsonl")
    assert third.returncode == 0, third.stderr
    assert reasons(third.report, src) == {
        "box.zip!/a/note.png": ("skipped", "up_to_date"),
        "box.zip!/letter.tif": ("converted", None),
    }
    assert pdf_pages(out / "box/letter.pdf") == 2


def _hostile_zip(path: Path) -> None:
    good = NOTE.read_bytes()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("ok/good.png", good)
        z.writestr("../escape.png", good)
        z.writestr("/etc/absolute.png", good)
        z.writestr("C:/drive.png", good)
        z.writestr("dir\\back.png", good)
        link = zipfile.ZipInfo("link.png")
        link.external_attr = 0o120777 << 16
        z.writestr(link, "/etc/passwd")
        z.writestr("bomb.tif", b"\0" * (40 << 20))
        with pytest.warns(UserWarning, match="Duplicate name"):
            z.writestr("ok/good.png", b"a different page")
        z.writestr("__MACOSX/ok/._good.png", b"resource fork")


def test_hostile_zip_entries_are_refused_and_the_rest_converts(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    _hostile_zip(src / "evil.zip")

    run = run_scan2pdf("convert", src, "-o", out, *NULL, report=tmp_path / "r.jsonl")

    assert run.returncode == 1
    unsafe = ("failed", "unsafe_archive")
    assert outcomes(run.report, src) == sorted(
        [
            ("evil.zip!/ok/good.png", "converted", ""),
            ("evil.zip!/ok/good.png", *unsafe),  # the second entry of that name
            ("evil.zip!/../escape.png", *unsafe),
            ("evil.zip!/etc/absolute.png", *unsafe),  # a Path in the report: "//" is "/"
            ("evil.zip!/C:/drive.png", *unsafe),
            ("evil.zip!/dir\\back.png", *unsafe),
            ("evil.zip!/link.png", *unsafe),
            ("evil.zip!/bomb.tif", *unsafe),
        ]
    )
    messages = {str(r["input"]).rsplit("!/", 1)[1]: r["message"] for r in run.report}
    assert messages["../escape.png"] == (
        f"The archive entry's name is unsafe: it climbs out of its folder with '..'. "
        f"{UNSAFE_REMEDY}"
    )
    assert messages["link.png"].startswith("The archive entry is a symbolic link")
    assert messages["bomb.tif"].startswith("The archive member is compressed 1,0")
    same_name = [r for r in run.report if "same name" in str(r["message"])]
    assert [r["input"] for r in same_name] == [f"{src}/evil.zip!/ok/good.png"]
    # Nothing outside OUTDIR; the only outputs are the good member's.
    assert sorted(p.name for p in tmp_path.rglob("*.pdf")) == ["good.pdf"]
    assert not (tmp_path / "escape.pdf").exists() and not list(tmp_path.rglob("escape*"))


def _tar_entry(
    tar: tarfile.TarFile, name: str, kind: bytes, data: bytes = b"", link: str = ""
) -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    tar.addfile(info, io.BytesIO(data) if data else None)


def test_hostile_tar_entries_are_refused(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    good = NOTE.read_bytes()
    with tarfile.open(src / "evil.tar.xz", "w:xz") as tar:
        _tar_entry(tar, "good.png", tarfile.REGTYPE, good)
        _tar_entry(tar, "../../escape.png", tarfile.REGTYPE, good)
        _tar_entry(tar, "sym.png", tarfile.SYMTYPE, link="/etc/passwd")
        _tar_entry(tar, "hard.png", tarfile.LNKTYPE, link="good.png")
        _tar_entry(tar, "dev.png", tarfile.CHRTYPE)
        _tar_entry(tar, "fifo.png", tarfile.FIFOTYPE)

    run = run_scan2pdf("convert", src, "-o", out, *NULL, report=tmp_path / "r.jsonl")

    assert run.returncode == 1
    unsafe = ("failed", "unsafe_archive")
    assert reasons(run.report, src) == {
        "evil.tar.xz!/good.png": ("converted", None),
        "evil.tar.xz!/../../escape.png": unsafe,
        "evil.tar.xz!/sym.png": unsafe,
        "evil.tar.xz!/hard.png": unsafe,
        "evil.tar.xz!/dev.png": unsafe,
        "evil.tar.xz!/fifo.png": unsafe,
    }
    assert sorted(p.name for p in tmp_path.rglob("*.pdf")) == ["good.pdf"]


def test_nesting_is_read_one_level_deep(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    deepest = io.BytesIO()
    with zipfile.ZipFile(deepest, "w") as z:
        z.writestr("deep.png", NOTE.read_bytes())
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("page.png", NOTE.read_bytes())
        z.writestr("again.zip", deepest.getvalue())
        z.writestr("zeros.tif", b"\0" * (40 << 20))  # a bomb one level down
    with zipfile.ZipFile(src / "outer.zip", "w") as z:
        z.writestr("sub/inner.zip", inner.getvalue())

    run = run_scan2pdf("convert", src, "-o", out, *NULL, report=tmp_path / "r.jsonl")

    assert reasons(run.report, src) == {
        "outer.zip!/sub/inner.zip!/page.png": ("converted", None),
        "outer.zip!/sub/inner.zip!/again.zip": ("failed", "unsafe_archive"),
        "outer.zip!/sub/inner.zip!/zeros.tif": ("failed", "unsafe_archive"),
    }
    assert (out / "outer/sub/inner/page.pdf").is_file()


def test_encrypted_member_and_truncated_archives(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("locked.png", NOTE.read_bytes())
    data = bytearray(buffer.getvalue())
    for signature, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # set "encrypted"
        at = data.index(signature)
        data[at + flag_at] |= 1
    (src / "locked.zip").write_bytes(bytes(data))
    whole = io.BytesIO()
    with zipfile.ZipFile(whole, "w") as z:
        z.writestr("first.png", NOTE.read_bytes())
        z.writestr("second.tif", LETTER.read_bytes())
    (src / "cut.zip").write_bytes(whole.getvalue()[: len(NOTE.read_bytes()) + 200])
    with tarfile.open(tmp_path / "whole.tar.gz", "w:gz") as tar:
        tar.add(NOTE, "first.png")
        tar.add(REPORT, "second.pdf")
    packed = (tmp_path / "whole.tar.gz").read_bytes()
    (src / "cut.tar.gz").write_bytes(packed[: len(packed) * 3 // 4])

    run = run_scan2pdf("convert", src, "-o", out, *NULL, report=tmp_path / "r.jsonl")

    # The tar is cut inside its second member: that member cannot be read, nor the rest.
    assert reasons(run.report, src) == {
        "locked.zip!/locked.png": ("failed", "encrypted"),
        "cut.zip!/first.png": ("converted", None),
        "cut.zip": ("failed", "corrupt"),
        "cut.tar.gz!/first.png": ("converted", None),
        "cut.tar.gz!/second.pdf": ("failed", "corrupt"),
        "cut.tar.gz": ("failed", "corrupt"),
    }
    rows = {Path(str(r["input"])).name: r for r in run.report}
    assert str(rows["locked.png"]["message"]).startswith(
        "The archive member is encrypted. Extract the archive with its password"
    )
    assert str(rows["cut.zip"]["message"]).startswith("The archive is damaged (")
    assert "the entry before that was read" in str(rows["cut.zip"]["message"])


def test_entry_count_and_total_size_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    with zipfile.ZipFile(src / "many.zip", "w") as z:
        for n in range(5):
            z.writestr(f"p{n}.png", NOTE.read_bytes())
    monkeypatch.setattr(archives, "LIMITS", Limits(entries=3))
    results: list[object] = []
    convert(src, out, ocr_engine="none", on_result=results.append, index=False)
    got = {(Path(str(r.input)).name, r.reason) for r in results}  # type: ignore[attr-defined]
    assert got == {
        ("p0.png", None),
        ("p1.png", None),
        ("p2.png", None),
        ("many.zip", "unsafe_archive"),
    }

    size = len(NOTE.read_bytes())
    monkeypatch.setattr(archives, "LIMITS", Limits(total_bytes=2 * size + 1))
    results.clear()
    convert(src, tmp_path / "out2", ocr_engine="none", on_result=results.append, index=False)
    refused = [r for r in results if r.reason == "unsafe_archive"]  # type: ignore[attr-defined]
    assert len(results) == 3 and len(refused) == 1
    assert "more than" in refused[0].message and "bytes in all" in refused[0].message  # type: ignore[attr-defined]


def test_retry_reads_a_failed_member_from_its_archive(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    with zipfile.ZipFile(src / "box.zip", "w") as z:
        z.writestr("bad.png", NOTE.read_bytes()[:400])  # a PNG cut short: corrupt
        z.writestr("good.png", NOTE.read_bytes())
    first = run_scan2pdf("convert", src, "-o", out, *NULL, report=tmp_path / "1.jsonl")
    assert reasons(first.report, src)["box.zip!/bad.png"] == ("failed", "corrupt")

    again = run_scan2pdf("retry", out, report=tmp_path / "2.jsonl")

    # Read again from the archive (not "unreadable": the member has no path of its own).
    assert reasons(again.report, src) == {"box.zip!/bad.png": ("failed", "corrupt")}


def test_dry_run_lists_members_and_writes_nothing(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    _hostile_zip(src / "evil.zip")

    run = run_scan2pdf("convert", src, "-o", out, "--dry-run", *NULL)

    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == f"convert     in/evil.zip!/ok/good.png -> {out}/evil/ok/good.pdf"
    assert sum(line.startswith("fail        in/evil.zip!/") for line in lines) == 7
    assert len(lines) == 8
    assert not out.exists()


def test_types_are_decided_by_content_for_archives_too(tmp_path: Path) -> None:
    """Issue 35: a PDF named scan.zip, a PNG named photo.tar (and, in an archive, a PNG
    named inner.zip) were "corrupt ... re-scan it"; they are what their bytes say."""
    import img2pdf

    src = tmp_path / "in"
    src.mkdir()
    png = text_image(tmp_path / "page.png", "named wrong")
    (src / "scan.zip").write_bytes(img2pdf.convert(str(png)))
    (src / "photo.tar").write_bytes(png.read_bytes())
    with zipfile.ZipFile(src / "box.zip", "w") as box:
        box.write(png, "inner.zip")
    results: list = []
    convert([src], tmp_path / "out", ocr_engine="none", on_result=results.append, index=False)
    assert sorted((Path(r.input).name, r.status) for r in results) == [
        ("inner.zip", "converted"),
        ("photo.tar", "converted"),
        ("scan.zip", "converted"),
    ], [(r.input, r.status, r.message) for r in results]
