"""Discovery: mirrored layout, stable order, content sniffing, ignore rules, collisions."""

from __future__ import annotations

from pathlib import Path

import pytest

from scan2pdf.discover import discover, sniff
from scan2pdf.errors import UsageError

from .helpers import text_image


def touch_pdf(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"%PDF-1.4\n%%EOF\n")
    return path


def outputs(inputs: list[Path], outdir: Path) -> list[tuple[str, str, str]]:
    return [
        (str(j.source.relative_to(j.source.anchor)), j.kind, str(j.pdf.relative_to(outdir)))
        for j in discover(inputs, outdir)
    ]


def test_tree_is_mirrored_in_stable_depth_first_order(tmp_path: Path) -> None:
    src = tmp_path / "in"
    for rel in ("b.pdf", "a.pdf", "2021/x.pdf", "2020/deep/y.pdf", "2020/z.pdf"):
        touch_pdf(src / rel)
    jobs = list(discover([src], tmp_path / "out"))
    assert [str(j.pdf.relative_to(tmp_path / "out")) for j in jobs] == [
        "a.pdf",
        "b.pdf",
        "2020/z.pdf",
        "2020/deep/y.pdf",
        "2021/x.pdf",
    ]
    assert [j.index for j in jobs] == [0, 1, 2, 3, 4]
    assert all(j.txt == j.pdf.with_suffix(".txt") for j in jobs)


def test_single_file_input_has_empty_rel(tmp_path: Path) -> None:
    scan = touch_pdf(tmp_path / "deep" / "down" / "scan.pdf")
    (job,) = discover([scan], tmp_path / "out")
    assert job.pdf == tmp_path / "out" / "scan.pdf"


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
    names = {j.source.name: j.pdf.name for j in discover([src], tmp_path / "out")}
    assert names == {
        "scan.pdf": "scan.pdf",
        "scan.png": "scan.png-2.pdf",
        "scan.png.pdf": "scan.png.pdf",
        "scan.tif": "scan.tif.pdf",
        "scan.txt": "scan.pdf",  # never written: unsupported inputs produce nothing
    }


def test_two_arguments_with_the_same_relative_path(tmp_path: Path) -> None:
    touch_pdf(tmp_path / "a" / "x.pdf")
    touch_pdf(tmp_path / "b" / "x.pdf")
    jobs = list(discover([tmp_path / "a", tmp_path / "b"], tmp_path / "out"))
    assert [j.pdf.name for j in jobs] == ["x.pdf", "x.pdf.pdf"]
    # Same tree, same names, every time.
    again = list(discover([tmp_path / "a", tmp_path / "b"], tmp_path / "out"))
    assert [j.pdf for j in again] == [j.pdf for j in jobs]


def test_overlapping_arguments_read_each_file_once(tmp_path: Path) -> None:
    touch_pdf(tmp_path / "in" / "sub" / "x.pdf")
    jobs = list(discover([tmp_path / "in", tmp_path / "in" / "sub" / "x.pdf"], tmp_path / "out"))
    assert [j.source for j in jobs] == [tmp_path / "in" / "sub" / "x.pdf"]
