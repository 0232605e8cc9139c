"""The hot folder on the one engine, fast: a real Watcher with a scripted event source and
OCRmyPDF's null OCR engine. No input's outputs are ever moved or replaced by another's."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from scan2pdf import retry
from scan2pdf.cli.commands import cli
from scan2pdf.core.report import FileResult
from scan2pdf.service import watch as watch_module
from scan2pdf.service.inbox import Parse, Settler
from scan2pdf.state.journal import Journal, default_path

from .engine_helpers import ScriptedWatch, scan, ten_page_pdf
from .helpers import outputs, pdf_pages


def folders(tmp_path: Path) -> tuple[Path, Path]:
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    return inbox, out


def pdfs(out: Path) -> dict[str, int]:
    return {str(p.relative_to(out)): pdf_pages(p) for p in outputs(out) if p.suffix == ".pdf"}


def test_a_copy_under_another_name_keeps_the_first_output(tmp_path: Path) -> None:
    inbox, out = folders(tmp_path)
    with ScriptedWatch(inbox, out) as watch:
        first = scan(inbox / "first.tif", pages=2, shade=3)
        watch.drop(first)
        (done,) = watch.wait(1)
        assert done.status == "converted"
        copy = inbox / "again.tif"
        shutil.copy(inbox / ".scan2pdf" / "done" / "first.tif", copy)
        watch.drop(copy)
        (reused,) = watch.wait(1)
    assert reused.status == "converted" and "copied" in reused.notes[0]
    assert pdfs(out) == {"first.pdf": 2, "again.pdf": 2}  # the first is still there


def test_three_copies_of_each_file_give_every_input_its_own_pdf(tmp_path: Path) -> None:
    inbox, out = folders(tmp_path)
    originals = [scan(tmp_path / "src" / f"doc{n}.png", pages=1, shade=n) for n in range(4)]
    for copy in range(3):
        for original in originals:
            shutil.copy(original, inbox / f"{original.stem}-copy{copy}.png")
    with ScriptedWatch(inbox, out) as watch:
        results = watch.wait(12)
    assert {r.status for r in results} == {"converted"}
    assert len(pdfs(out)) == 12
    assert len(list((inbox / ".scan2pdf" / "done").iterdir())) == 12
    conversions = Journal(default_path(out)).conversions()
    assert sum(conversions.values()) == 4  # each content OCRed once; the rest copied


def test_same_stem_and_a_restarted_counter_never_replace_an_output(tmp_path: Path) -> None:
    inbox, out = folders(tmp_path)
    with ScriptedWatch(inbox, out, report_path=tmp_path / "report.jsonl") as watch:
        watch.drop(
            scan(inbox / "scan.png", pages=1, shade=1), scan(inbox / "scan.tif", pages=2, shade=2)
        )
        watch.wait(2)
        # The scanner's counter restarts: the same name again, new content.
        watch.drop(scan(inbox / "scan.png", pages=3, shade=5))
        (later,) = watch.wait(1)
    assert later.status == "converted"
    assert pdfs(out) == {"scan.pdf": 1, "scan.tif.pdf": 2, "scan.png.pdf": 3}
    lines = [json.loads(x) for x in (tmp_path / "report.jsonl").read_text().splitlines()]
    assert [line["input"] for line in lines].count(str(inbox / "scan.png")) == 2
    assert all(".scan2pdf/claims" not in line["input"] for line in lines)
    done = sorted(p.name for p in (inbox / ".scan2pdf" / "done").iterdir())
    assert done == ["scan-2.png", "scan.png", "scan.tif"]  # every original kept


def test_the_same_file_dropped_twice_is_up_to_date(tmp_path: Path) -> None:
    inbox, out = folders(tmp_path)
    with ScriptedWatch(inbox, out) as watch:
        watch.drop(scan(inbox / "same.png", shade=4))
        watch.wait(1)
        shutil.copy(inbox / ".scan2pdf" / "done" / "same.png", inbox / "same.png")
        watch.drop(inbox / "same.png")
        (again,) = watch.wait(1)
    assert (again.status, again.reason) == ("skipped", "up_to_date")
    assert pdfs(out) == {"same.pdf": 1}
    assert sorted(p.name for p in (inbox / ".scan2pdf" / "done").iterdir()) == [
        "same-2.png",
        "same.png",
    ]


def test_on_conflict_skip_leaves_the_file_in_the_failed_folder(tmp_path: Path) -> None:
    inbox, out = folders(tmp_path)
    with ScriptedWatch(inbox, out, on_conflict="skip") as watch:
        watch.drop(scan(inbox / "a.png", shade=1))
        watch.wait(1)
        watch.drop(scan(inbox / "a.png", pages=2, shade=2))
        (skipped,) = watch.wait(1)
    assert (skipped.status, skipped.reason) == ("skipped", "name_taken")
    assert pdfs(out) == {"a.pdf": 1}
    failed = inbox / ".scan2pdf" / "failed"
    error = json.loads((failed / "a.png.error.json").read_text())
    assert (error["input"], error["reason"]) == (str(inbox / "a.png"), "name_taken")


def test_on_conflict_overwrite_replaces_and_says_so_in_the_journal(tmp_path: Path) -> None:
    inbox, out = folders(tmp_path)
    with ScriptedWatch(inbox, out, on_conflict="overwrite") as watch:
        watch.drop(scan(inbox / "a.png", shade=1))
        watch.wait(1)
        watch.drop(scan(inbox / "a.png", pages=2, shade=2))
        watch.wait(1)
    assert pdfs(out) == {"a.pdf": 2}
    statuses = [e.status for e in Journal(default_path(out)).entries()]
    assert statuses == ["replaced", "converted"]


def test_a_name_dropped_again_while_the_first_is_claimed_keeps_both(tmp_path: Path) -> None:
    inbox, out = folders(tmp_path)
    scan(inbox / "x.png", pages=1, shade=1)
    with ScriptedWatch(inbox, out) as watch:
        (first,) = watch.wait(1)
        scan(inbox / "x.png", pages=2, shade=2)
        watch.drop(inbox / "x.png")
        (second,) = watch.wait(1)
    assert {first.status, second.status} == {"converted"}
    assert sorted(pdfs(out).values()) == [1, 2]


def test_an_original_that_cannot_be_moved_does_not_stop_the_service(tmp_path: Path) -> None:
    inbox, out = folders(tmp_path)
    done = inbox / ".scan2pdf" / "done"
    done.mkdir(parents=True)
    (done / "sub").write_text("a file where the mirrored folder should go")
    with ScriptedWatch(inbox, out) as watch:
        watch.drop(scan(inbox / "sub" / "stuck.png", shade=1))
        (stuck,) = watch.wait(1)
        watch.drop(scan(inbox / "fine.png", shade=2))
        (fine,) = watch.wait(1)
    assert (stuck.status, fine.status) == ("converted", "converted")
    assert len(watch.problems) == 1
    assert watch.problems[0].startswith(
        f"{inbox / 'sub' / 'stuck.png'}: the original could not be moved"
    )
    assert (done / "fine.png").exists()
    assert (inbox / "sub" / "stuck.png").exists()  # put back into the inbox at the stop
    assert pdfs(out) == {"sub/stuck.pdf": 1, "fine.pdf": 1}


def test_the_service_keeps_the_search_index_current(tmp_path: Path) -> None:
    from scan2pdf import search

    inbox, out = folders(tmp_path)
    memo = Path(__file__).resolve().parent.parent / "samples" / "reports" / "digital-memo.pdf"
    with ScriptedWatch(inbox, out) as watch:
        shutil.copy(memo, inbox / "memo.pdf")
        watch.drop(inbox / "memo.pdf")
        watch.wait(1)
        assert [h.file.name for h in search(out, '"digital copy"')] == ["memo.pdf"]
        shutil.copy(memo, inbox / "again.pdf")  # the same content: a copy, indexed too
        watch.drop(inbox / "again.pdf")
        watch.wait(1)
    hits = search(out, '"digital copy"')
    assert sorted(h.file.name for h in hits) == ["again.pdf", "memo.pdf"]
    assert {h.input for h in hits} == {str(inbox / "memo.pdf"), str(inbox / "again.pdf")}


def test_the_report_keeps_the_lines_of_earlier_starts(tmp_path: Path) -> None:
    inbox, out = folders(tmp_path)
    report = tmp_path / "report.jsonl"
    for n in range(2):  # the service stopped and started again
        with ScriptedWatch(inbox, out, report_path=report) as watch:
            watch.drop(scan(inbox / f"start-{n}.png", shade=n))
            watch.wait(1)
    lines = [json.loads(x) for x in report.read_text().splitlines()]
    assert [Path(line["input"]).name for line in lines] == ["start-0.png", "start-1.png"]


def test_retry_finds_a_watch_failure_in_the_failed_folder(tmp_path: Path) -> None:
    from scan2pdf import retry

    inbox, out = folders(tmp_path)
    good = scan(tmp_path / "good.png", shade=4).read_bytes()
    with ScriptedWatch(inbox, out) as watch:
        (inbox / "cut.png").write_bytes(good[:300])
        watch.drop(inbox / "cut.png")
        (failed,) = watch.wait(1)
    assert (failed.status, failed.reason) == ("failed", "corrupt")
    kept = inbox / ".scan2pdf" / "failed" / "cut.png"
    assert kept.is_file() and not (inbox / "cut.png").exists()

    results = []
    retry(out, on_result=results.append, index=False)

    # Read from where the service kept it (before: "unreadable", the drop path is gone).
    assert [(r.status, r.reason) for r in results] == [("failed", "corrupt")]
    assert str(results[0].input) == str(inbox / "cut.png")

    with ScriptedWatch(inbox, out) as watch:  # the user puts a mended file back
        (inbox / "cut.png").write_bytes(good)
        watch.drop(inbox / "cut.png")
        (mended,) = watch.wait(1)
    assert mended.status == "converted"
    assert pdfs(out) == {"cut.pdf": 1}


def test_an_outdir_deleted_under_the_service_stops_it_with_the_file_kept(
    tmp_path: Path,
) -> None:
    from scan2pdf.errors import LocationError

    inbox, out = folders(tmp_path)
    watch = ScriptedWatch(inbox, out)
    with watch:
        watch.drop(scan(inbox / "first.png", shade=1))
        (first,) = watch.wait(1)
        assert first.status == "converted"
        shutil.rmtree(out)  # someone clears the outputs while the service runs
        watch.drop(scan(inbox / "second.png", shade=2))
        assert watch.ended()
    assert isinstance(watch.error, LocationError)
    assert watch.error.message.startswith(
        f"The output folder '{out}' was deleted (or moved) while this run was writing it"
    )
    assert (inbox / "second.png").exists()  # back in the inbox for the next start
    with ScriptedWatch(inbox, out) as again:  # a restart makes a new OUTDIR and goes on
        again.drop(inbox / "second.png")
        (second,) = again.wait(1)
    assert second.status == "converted" and pdfs(out) == {"second.pdf": 1}


# ---- a writer's pause: never a document with missing pages -----------------------------


class Looks:
    """Every answer the watcher's Settler gives (name, seconds still, taken?), so a test
    waits for the watcher to have passed a file over for so long, not for a sleep."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.seen: list[tuple[str, float, bool]] = []
        self._changed = threading.Condition()
        looks = self

        class Recording(Settler):
            def ready(
                self, path: Path, still_for: float, parses: Callable[[], Parse | bool]
            ) -> bool:
                taken = super().ready(path, still_for, parses)
                with looks._changed:
                    looks.seen.append((path.name, still_for, taken))
                    looks._changed.notify_all()
                return taken

        monkeypatch.setattr(watch_module, "Settler", Recording)

    def until(self, name: str, still_for: float, deadline: float = 60) -> list[float]:
        """Wait until ``name`` has been taken or passed over while still for ``still_for``
        seconds; the stillness at which it was taken, if it was."""
        with self._changed:
            self._changed.wait_for(
                lambda: any(n == name and (t or s >= still_for) for n, s, t in self.seen),
                deadline,
            )
            return self.taken(name)

    def taken(self, name: str) -> list[float]:
        return [s for n, s, t in self.seen if n == name and t]


def test_a_writer_pausing_far_past_settle_publishes_the_whole_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 29: a 10-page PDF written 30%, paused 12 x --settle (a scanner over SMB),
    then finished, was published as its first pages and marked converted."""
    inbox, out = folders(tmp_path)
    whole = ten_page_pdf(tmp_path / "whole.pdf")
    cut = len(whole) * 3 // 10
    looks = Looks(monkeypatch)
    target = inbox / "volume.pdf"
    with ScriptedWatch(inbox, out, settle=0.1, give_up=30) as watch:
        with target.open("wb") as scanner:
            scanner.write(whole[:cut])  # opens, repaired, as 3 pages
            scanner.flush()
            watch.drop(target)
            # The pause: the watcher looks at the still file every tick meanwhile.
            assert looks.until("volume.pdf", still_for=1.2) == [], "taken while paused"
            scanner.write(whole[cut:])
        watch.drop(target)
        (result,) = watch.wait(1)
    assert (result.status, result.pages) == ("converted", 10)
    assert result.notes == ()  # whole: nothing was repaired
    assert pdfs(out) == {"volume.pdf": 10}


def test_a_pdf_left_cut_short_fails_truncated_after_give_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, out = folders(tmp_path)
    whole = ten_page_pdf(tmp_path / "whole.pdf")
    looks = Looks(monkeypatch)
    with ScriptedWatch(inbox, out, settle=0.1, give_up=1.0) as watch:
        (inbox / "volume.pdf").write_bytes(whole[: len(whole) * 3 // 10])
        watch.drop(inbox / "volume.pdf")
        (failed,) = watch.wait(1)
    assert looks.taken("volume.pdf")[0] >= 1.0  # not before --give-up
    assert (failed.status, failed.reason) == ("failed", "truncated")
    assert failed.message is not None
    assert failed.message.startswith("The PDF is cut short (it stops before its end")
    assert "3 of the 10 pages it lists could be read; the other 7 are missing." in failed.message
    assert "scan2pdf retry OUTDIR --reason truncated --accept-truncated" in failed.message
    assert outputs(out) == []  # nothing short published
    kept = inbox / ".scan2pdf" / "failed"
    assert (kept / "volume.pdf").is_file()
    error = json.loads((kept / "volume.pdf.error.json").read_text())
    assert error["reason"] == "truncated"


def test_a_damaged_but_whole_pdf_waits_give_up_then_converts_with_every_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broken xref in a finished file: qpdf rebuilds every page, so it is not refused."""
    inbox, out = folders(tmp_path)
    whole = ten_page_pdf(tmp_path / "whole.pdf")
    broken = whole[: whole.rfind(b"startxref")] + b"startxref\n999\n%%EOF\n"
    looks = Looks(monkeypatch)
    with ScriptedWatch(inbox, out, settle=0.1, give_up=1.0) as watch:
        (inbox / "damaged.pdf").write_bytes(broken)
        watch.drop(inbox / "damaged.pdf")
        (result,) = watch.wait(1)
    assert looks.taken("damaged.pdf")[0] >= 1.0  # it might have been a writer's pause
    assert (result.status, result.pages) == ("converted", 10)
    assert result.notes == (
        "damaged PDF repaired by qpdf (cross-reference table rebuilt): 10 pages found in it, "
        "none missing",
    )
    assert pdfs(out) == {"damaged.pdf": 10}


def test_retry_with_accept_truncated_converts_what_a_cut_short_pdf_has(tmp_path: Path) -> None:
    inbox, out = folders(tmp_path)
    whole = ten_page_pdf(tmp_path / "whole.pdf")
    with ScriptedWatch(inbox, out) as watch:  # --give-up 0: the scanner never came back
        (inbox / "volume.pdf").write_bytes(whole[: len(whole) * 3 // 10])
        watch.drop(inbox / "volume.pdf")
        (failed,) = watch.wait(1)
    assert failed.reason == "truncated"

    again: list[FileResult] = []
    retry(out, reason="truncated", on_result=again.append, index=False)
    assert [(r.status, r.reason) for r in again] == [("failed", "truncated")]  # no consent yet

    run = CliRunner().invoke(
        cli, ["retry", str(out), "--reason", "truncated", "--accept-truncated", "-j", "2"]
    )
    assert run.exit_code == 0, run.output
    assert pdfs(out) == {"volume.pdf": 3}
    (row,) = Journal(default_path(out)).entries()
    assert (row.status, row.pages, row.identity) == ("converted", 3, str(inbox / "volume.pdf"))
    assert json.loads(row.quality or "{}")["repair"] == (
        "cut short: 3 of the 10 pages it lists converted, the other 7 are missing"
    )


def test_an_archive_dropped_into_the_inbox_is_told_watch_does_not_read_archives(
    tmp_path: Path,
) -> None:
    """Issue 35: a zip in the inbox was "Not a PDF or an image that Pillow can open";
    known by its content, whatever its name."""
    import zipfile

    inbox, out = folders(tmp_path)
    staged = tmp_path / "box.bin"
    with zipfile.ZipFile(staged, "w") as archive:
        archive.write(scan(tmp_path / "page.png"), "page.png")
    with ScriptedWatch(inbox, out) as watch:
        watch.drop(Path(shutil.move(staged, inbox / "box.bin")))
        (result,) = watch.wait(1)
    assert (result.status, result.reason) == ("skipped", "unsupported")
    assert result.message == (
        "It is a zip or tar archive, and watch does not read archives. Convert it with "
        "scan2pdf convert ARCHIVE -o OUTDIR, or unpack it into the inbox."
    )
