"""Discovery: mirrored layout, stable order, content sniffing, ignore rules, collisions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scan2pdf.core.discover import discover
from scan2pdf.core.jobs import Input
from scan2pdf.core.naming import assign
from scan2pdf.core.sniff import sniff
from scan2pdf.errors import LocationError, UsageError

from .helpers import text_image


def touch_pdf(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"%PDF-1.4\n%%EOF\n")
    return path


def named(inputs: list[Path], outdir: Path) -> list[tuple[Input, Path]]:
    """Discovery's inputs with the output names the pipeline gives them, in order (the
    pipeline asks its journal what is taken; a set stands in for it here)."""
    given: set[Path] = set()
    made = []
    for item in discover(inputs, outdir):
        if item.kind in ("pdf", "image"):  # the rest produce nothing and take no name
            pdf = assign(outdir / item.folder, item.name, given.__contains__, item.source)
            given.add(pdf)
            made.append((item, pdf))
    return made


def test_tree_is_mirrored_in_stable_depth_first_order(tmp_path: Path) -> None:
    src = tmp_path / "in"
    for rel in ("b.pdf", "a.pdf", "2021/x.pdf", "2020/deep/y.pdf", "2020/z.pdf"):
        touch_pdf(src / rel)
    jobs = named([src], tmp_path / "out")
    assert [str(pdf.relative_to(tmp_path / "out")) for _, pdf in jobs] == [
        "a.pdf",
        "b.pdf",
        "2020/z.pdf",
        "2020/deep/y.pdf",
        "2021/x.pdf",
    ]
    assert [item.identity for item, _ in jobs] == [
        str(src / rel) for rel in ("a.pdf", "b.pdf", "2020/z.pdf", "2020/deep/y.pdf", "2021/x.pdf")
    ]


def test_single_file_input_has_empty_rel(tmp_path: Path) -> None:
    scan = touch_pdf(tmp_path / "deep" / "down" / "scan.pdf")
    ((_, pdf),) = named([scan], tmp_path / "out")
    assert pdf == tmp_path / "out" / "scan.pdf"


def test_type_is_decided_by_content_not_extension(tmp_path: Path) -> None:
    pdf_named_jpg = touch_pdf(tmp_path / "really-a-pdf.jpg")
    png_named_pdf = text_image(tmp_path / "really-a-png.pdf", "x", fmt="PNG")
    text_named_png = tmp_path / "notes.png"
    text_named_png.write_text("just text")
    empty = tmp_path / "empty.tif"
    empty.write_bytes(b"")
    assert sniff(pdf_named_jpg) == "pdf"
    assert sniff(png_named_pdf) == "image"
    assert sniff(text_named_png) == "unsupported"
    assert sniff(empty) == "unsupported"


def test_hidden_and_system_files_are_never_inputs(tmp_path: Path) -> None:
    src = tmp_path / "in"
    touch_pdf(src / "keep.pdf")
    touch_pdf(src / ".hidden.pdf")
    touch_pdf(src / ".git" / "inside.pdf")
    touch_pdf(src / "~$lock.pdf")
    touch_pdf(src / "@eaDir" / "thumb.pdf")
    (src / "Thumbs.db").write_bytes(b"x")
    assert [j.source.name for j in discover([src], tmp_path / "out")] == ["keep.pdf"]


def test_outdir_inside_the_input_is_not_read(tmp_path: Path) -> None:
    src = tmp_path / "in"
    touch_pdf(src / "a.pdf")
    touch_pdf(src / "out" / "a.pdf")  # an earlier run's output
    jobs = list(discover([src], src / "out"))
    assert [j.source for j in jobs] == [src / "a.pdf"]


def test_outdir_equal_to_input_is_refused(tmp_path: Path) -> None:
    touch_pdf(tmp_path / "a.pdf")
    with pytest.raises(UsageError, match="is the input folder"):
        list(discover([tmp_path], tmp_path))


def test_same_stem_in_one_folder_keeps_every_output_apart(tmp_path: Path) -> None:
    src = tmp_path / "in"
    touch_pdf(src / "scan.pdf")
    text_image(src / "scan.tif", "x")
    text_image(src / "scan.png", "x")
    touch_pdf(src / "scan.png.pdf")  # naturally wants scan.png.pdf: keeps it
    (src / "scan.txt").write_text("not a scan")  # unsupported: claims no name
    names = {item.source.name: pdf.name for item, pdf in named([src], tmp_path / "out")}
    assert names == {
        "scan.pdf": "scan.pdf",
        "scan.png": "scan.png-2.pdf",
        "scan.png.pdf": "scan.png.pdf",
        "scan.tif": "scan.tif.pdf",
    }
    kinds = {item.source.name: item.kind for item in discover([src], tmp_path / "out")}
    assert kinds["scan.txt"] == "unsupported"


def test_two_arguments_with_the_same_relative_path(tmp_path: Path) -> None:
    touch_pdf(tmp_path / "a" / "x.pdf")
    touch_pdf(tmp_path / "b" / "x.pdf")
    jobs = named([tmp_path / "a", tmp_path / "b"], tmp_path / "out")
    assert [pdf.name for _, pdf in jobs] == ["x.pdf", "x.pdf.pdf"]
    # Same tree, same names, every time.
    again = named([tmp_path / "a", tmp_path / "b"], tmp_path / "out")
    assert [pdf for _, pdf in again] == [pdf for _, pdf in jobs]


def test_overlapping_arguments_read_each_file_once(tmp_path: Path) -> None:
    touch_pdf(tmp_path / "in" / "sub" / "x.pdf")
    jobs = list(discover([tmp_path / "in", tmp_path / "in" / "sub" / "x.pdf"], tmp_path / "out"))
    assert [j.source for j in jobs] == [tmp_path / "in" / "sub" / "x.pdf"]


def test_an_output_is_never_named_after_its_own_input(tmp_path: Path) -> None:
    """``convert d/report.pdf -o d``: report.pdf would be written over the input."""
    report = touch_pdf(tmp_path / "d" / "report.pdf")
    ((_, pdf),) = named([report], tmp_path / "d")
    assert pdf == tmp_path / "d" / "report.pdf.pdf"


def test_an_unlistable_subfolder_is_reported_not_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "in"
    touch_pdf(src / "a.pdf")
    locked = src / "locked"
    touch_pdf(locked / "b.pdf")
    real_scandir = os.scandir

    def scandir(path: Path) -> object:  # as for a folder this user may not read (tests run as root)
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    items = list(discover([src], tmp_path / "out"))
    assert [(i.source.name, i.kind) for i in items] == [("a.pdf", "pdf"), ("locked", "unreadable")]
    with pytest.raises(LocationError, match=r"Cannot list the input folder '.*locked'"):
        list(discover([locked], tmp_path / "out"))
