"""``scan2pdf search`` over the page-level index that convert, retry and watch keep current:
real OCR text of the samples (English, Spanish, Chinese) for what is found, and the null
OCR engine on PDFs that carry text for how the index follows copies, moves and deletions."""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from scan2pdf import convert, search
from scan2pdf.cli.commands import cli
from scan2pdf.core.search import QueryError, fts_query
from scan2pdf.errors import MissingDependencyError
from scan2pdf.state import index as index_module
from scan2pdf.state.index import Index, default_path
from scan2pdf.state.journal import Journal
from scan2pdf.state.journal import default_path as journal_default

from .conftest import SAMPLES, SCAN2PDF, SamplesRun
from .engine_helpers import NULL_ENGINE
from .helpers import wait_for

MEMO = SAMPLES / "reports" / "digital-memo.pdf"  # a text layer: searchable without OCR


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def found(outdir: Path, query: str, **filters: object) -> list[tuple[str, int]]:
    return [(hit.file.name, hit.page) for hit in search(outdir, query, **filters)]  # type: ignore[arg-type]


# ---- what is found, in real OCR text --------------------------------------------------------


def test_words_phrases_prefixes_and_operators(samples_run: SamplesRun) -> None:
    out = samples_run.outdir
    assert found(out, "ferry") == [("english-letter.pdf", 2)]
    assert set(found(out, '"harbour master"')) == {
        ("english-letter.pdf", 1),
        ("english-letter.pdf", 2),
    }
    assert found(out, '"master harbour"') == []  # a phrase keeps its order
    assert found(out, "invo*") == [("english-letter.pdf", 1)]
    assert set(found(out, "reservoir OR ferry")) == {
        ("scanned-report.pdf", 1),
        ("english-letter.pdf", 2),
    }
    assert found(out, "harbour NOT ferry") == [("english-letter.pdf", 1)]
    assert found(out, "harbour AND reservoir") == []


def test_accents_do_not_matter(samples_run: SamplesRun) -> None:
    out = samples_run.outdir
    assert found(out, "nunez") == [("spanish-note.pdf", 1)]
    assert found(out, "PERIODICOS digitalizaran") == [("spanish-note.pdf", 1)]
    assert found(out, "periódicos") == [("spanish-note.pdf", 1)]


def test_chinese_is_found_as_a_substring(samples_run: SamplesRun) -> None:
    """Tesseract spaces CJK text as it likes (档案 馆); a search finds what is written."""
    out = samples_run.outdir
    assert found(out, "档案馆") == [("chinese-notice.pdf", 1)]
    assert found(out, "报纸") == [("chinese-notice.pdf", 1)]  # two characters, inside a word
    assert found(out, "旧报纸 AND 预约") == [("chinese-notice.pdf", 1)]
    assert found(out, "报纸档案") == []  # the characters, but not in this order
    (hit,) = search(out, "档案馆")
    assert hit.snippet[slice(*hit.marks[0])] == "档案馆"


def test_the_command_line_like_grep(samples_run: SamplesRun, runner: CliRunner) -> None:
    out = str(samples_run.outdir)
    result = runner.invoke(cli, ["search", out, "ferry"])
    assert result.exit_code == 0
    (line,) = result.stdout.splitlines()
    path, page, snippet = line.split(":", 2)
    assert (Path(path).name, page) == ("english-letter.pdf", "2")
    assert "ferry will use" in snippet
    result = runner.invoke(cli, ["search", out, "harbour", "--json", "--limit", "1"])
    (hit,) = [json.loads(x) for x in result.stdout.splitlines()]
    assert set(hit) == {"file", "page", "score", "snippet", "marks", "input", "sidecar"}
    assert hit["input"] == str(SAMPLES / "letters" / "english-letter.tif")
    start, end = hit["marks"][0]
    assert hit["snippet"][start:end].lower() == "harbour"
    nothing = runner.invoke(cli, ["search", out, "zeppelin"])
    assert (nothing.exit_code, nothing.stdout) == (1, "")
    bad = runner.invoke(cli, ["search", out, '"unclosed'])
    assert bad.exit_code == 2
    assert bad.stderr == (
        "Error: The query '\"unclosed' cannot be read (unterminated string). Quote words that "
        'hold punctuation ("e-mail"), close every quote and parenthesis, and write AND, OR '
        "and NOT in capitals between words.\n"
    )


def test_filters_by_folder_and_date(samples_run: SamplesRun) -> None:
    out = samples_run.outdir
    assert {f for f, _ in found(out, "minutes OR harbour")} == {
        "digital-memo.pdf",
        "english-letter.pdf",
    }
    assert {f for f, _ in found(out, "minutes OR harbour", under="reports")} == {"digital-memo.pdf"}
    assert found(out, "minutes", under="report") == []  # a folder, not a string prefix
    now = datetime.now()
    assert found(out, "ferry", since=now + timedelta(hours=1)) == []
    assert found(out, "ferry", until=now + timedelta(hours=1)) == [("english-letter.pdf", 2)]


# ---- kept current ------------------------------------------------------------------------


def test_the_index_follows_moves_copies_and_deletions(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    shutil.copy(MEMO, src / "memo.pdf")
    convert([src], out, NULL_ENGINE)
    assert found(out, '"digital copy"') == [("memo.pdf", 1)]
    (src / "memo.pdf").rename(src / "renamed.pdf")  # a rename: the outputs move
    convert([src], out, NULL_ENGINE)
    assert found(out, '"digital copy"') == [("renamed.pdf", 1)]
    shutil.copy(src / "renamed.pdf", src / "copy.pdf")  # identical content: outputs copied
    convert([src], out, NULL_ENGINE)
    assert sorted(found(out, '"digital copy"')) == [("copy.pdf", 1), ("renamed.pdf", 1)]
    (src / "copy.pdf").unlink()  # input and outputs removed by hand
    (out / "copy.pdf").unlink()
    (out / "copy.txt").unlink()
    shutil.copy(SAMPLES / "reports" / "scanned-report.pdf", src / "other.pdf")
    convert([src], out, NULL_ENGINE)  # any later run drops them from the index
    assert found(out, '"digital copy"') == [("renamed.pdf", 1)]
    names = sorted(Path(d.pdf).name for d in Index(default_path(out)).documents())
    assert names == ["other.pdf", "renamed.pdf"]


def test_rebuild_and_a_damaged_index(tmp_path: Path, runner: CliRunner) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    shutil.copy(MEMO, src / "memo.pdf")
    convert([src], out, NULL_ENGINE)
    result = runner.invoke(cli, ["index", str(out), "--rebuild"])
    assert result.exit_code == 0
    # Page 2 is a scan; the null engine reads no text on it.
    assert result.stdout.startswith("1 documents, 1 pages with text (1 added, 0 removed;")
    default_path(out).write_bytes(b"not a database" * 512)
    for extra in default_path(out).parent.glob("index.sqlite-*"):
        extra.unlink()
    notices: list[str] = []
    convert([src], out, NULL_ENGINE, on_notice=notices.append)
    assert notices == [
        f"The search index '{default_path(out)}' is damaged (file is not a database). It was "
        "rebuilt from the journal and the sidecars."
    ]
    assert found(out, "minutes") == [("memo.pdf", 1)]


def test_searching_while_a_writer_holds_the_index(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    shutil.copy(MEMO, src / "memo.pdf")
    convert([src], out, NULL_ENGINE)
    writer = sqlite3.connect(default_path(out), isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO pages (rowid, text) VALUES (999, 'uncommitted words')")
    try:
        assert found(out, "minutes") != []  # a reader is never blocked by the writer
        assert found(out, "uncommitted") == []  # and sees only committed documents
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_no_index_means_none_is_made(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    shutil.copy(MEMO, src / "memo.pdf")
    convert([src], out, NULL_ENGINE, index=False)
    assert not default_path(out).exists()


# ---- pieces ------------------------------------------------------------------------------


def test_queries_become_fts5_expressions() -> None:
    assert fts_query("harbour master") == "harbour master"
    assert fts_query("档案馆 AND pier") == '"档 案 馆" AND pier'
    assert fts_query('"旧报纸 today"') == '"旧 报 纸 today"'
    with pytest.raises(QueryError, match="The query is empty"):
        fts_query("   ")


def test_a_python_without_fts5_is_told_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    class NoFts5:
        def execute(self, sql: str) -> None:
            raise sqlite3.OperationalError("no such module: fts5")

    monkeypatch.setattr(index_module.sqlite3, "connect", lambda *a, **k: NoFts5())
    with pytest.raises(MissingDependencyError) as caught:
        index_module.check_fts5()
    assert caught.value.message.endswith(
        "Use a Python whose SQLite has FTS5 (Debian's and python.org's do), or convert with "
        "--no-index."
    )


def test_a_document_is_replaced_whole(tmp_path: Path) -> None:
    index = Index(tmp_path / "index.sqlite")
    pdf, txt = tmp_path / "a.pdf", tmp_path / "a.txt"
    index.add(pdf, txt, "a", "", "first version\fpage two")
    index.add(pdf, txt, "a", "", "second version")
    assert index.count() == (1, 1)
    assert [r.page for r in index.query("version", 10)] == [1]
    index.remove(pdf)
    assert index.count() == (0, 0)


def test_the_index_survives_a_kill_9_of_the_writer(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for n in range(40):  # distinct content each, so every file is converted and indexed
        data = MEMO.read_bytes() + f"\n% copy {n}\n".encode()
        (src / f"memo-{n:02d}.pdf").write_bytes(data)
    process = subprocess.Popen(
        [*SCAN2PDF, "convert", str(src), "-o", str(out), "--ocr-engine", "none", "-q"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def indexed() -> int:
        try:
            with sqlite3.connect(default_path(out)) as db:
                return int(db.execute("SELECT COUNT(*) FROM docs").fetchone()[0])
        except sqlite3.Error:
            return 0

    wait_for(lambda: indexed() >= 5, 120, "a few documents in the index")
    process.send_signal(signal.SIGKILL)
    process.wait(30)
    with sqlite3.connect(default_path(out)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        docs = db.execute("SELECT id, pdf FROM docs").fetchall()
        for doc, pdf in docs:  # every indexed document is whole, and its PDF is there
            rows = db.execute(
                "SELECT COUNT(*) FROM pages WHERE rowid >> 20 = ?", (doc,)
            ).fetchone()[0]
            assert rows == 1 and Path(pdf).exists()
    convert([src], out, NULL_ENGINE)  # the next run completes the index
    assert len(search(out, '"digital copy"', limit=100)) == 40


def test_mixed_languages_on_one_page(tmp_path: Path) -> None:
    index = Index(default_path(tmp_path))
    page = "Nota del archivo: crédito 2021.\n档案 馆 通知 (harbour office)\nØresund Straße"
    index.add(tmp_path / "m.pdf", tmp_path / "m.txt", "/scans/m.tif", "", page)
    index.close()
    for query in (
        "credito",
        "档案馆",
        "harbour",
        "ØRESUND",
        "straße",
        "archivo AND 通知",
    ):
        assert found(tmp_path, query) == [("m.pdf", 1)], query
    # Letters of their own (not a base letter plus an accent) are not folded.
    assert found(tmp_path, "oresund") == []


def test_out_of_range_options_are_usage_errors(tmp_path: Path, runner: CliRunner) -> None:
    """Issue 35: --limit past 64 bits was "a bug in scan2pdf"; a date with seconds after
    a T was refused though one with minutes was taken."""
    huge = runner.invoke(cli, ["search", str(tmp_path), "x", "--limit", str(2**64)])
    assert huge.exit_code == 2, huge.output
    assert "--limit" in huge.stderr and "bug" not in huge.stderr
    with_seconds = runner.invoke(
        cli, ["search", str(tmp_path), "x", "--since", "2026-12-04T03:00:00"]
    )
    assert "--since" not in with_seconds.stderr, with_seconds.stderr


def test_an_index_never_answers_from_a_part(
    tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 35: a rebuild killed midway left an index of 119 documents of 401 that
    answered without a word; one without its tables was "a bug", and the next convert
    made an empty one. A rebuild is made aside and swapped in whole; a damaged index is
    rebuilt by search, with a warning."""
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for n in range(3):
        shutil.copy(MEMO, src / f"memo{n}.pdf")
    convert([src], out, NULL_ENGINE)
    assert len(found(out, "minutes")) == 3

    real = index_module.sync

    def dies_after_one(index: Index, journal: object, outdir: Path) -> tuple[int, int]:
        it = real.__globals__["read_sidecar"]
        calls = iter(range(100))

        def fail_second(path: Path) -> str | None:
            if next(calls) == 1:
                raise KeyboardInterrupt  # as a kill would stop it
            return it(path)

        monkeypatch.setattr(index_module, "read_sidecar", fail_second)
        return real(index, journal, outdir)  # type: ignore[arg-type]

    monkeypatch.setattr(index_module, "sync", dies_after_one)
    with pytest.raises(KeyboardInterrupt):
        index_module.open_for_run(out, Journal.snapshot(journal_default(out)), rebuild=True)
    monkeypatch.undo()
    assert len(found(out, "minutes")) == 3  # the old index, whole

    db = sqlite3.connect(default_path(out))
    db.execute("DROP TABLE pages")
    db.close()
    result = runner.invoke(cli, ["search", str(out), "minutes"])
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 3
    assert "Warning: The search index" in result.stderr
    assert "(its tables are missing). It was rebuilt" in result.stderr
