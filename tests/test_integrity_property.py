"""The first promise as a property: random sequences of what users and machines do to an
archive, and after every step the document under each name is that input's.

A Hypothesis state machine drives the real engine (OCRmyPDF's null OCR engine, real
worker processes, the real journal) through: scans put into an INPUT tree (new names,
new bytes under an old name), copies and renames of inputs, ``convert`` runs, hot-folder
runs (drops read from claims, as ``watch`` feeds the pipeline) in which a name may be
dropped again with other bytes while its first file converts, outputs edited, cut,
replaced or deleted by hand, and runs that crash half-way through publishing (the
state a kill -9 leaves) followed by a restart.

Each scan's pages are a flat grey whose level says which content it is, so a PDF is
read back to the content it holds without trusting anything scan2pdf wrote about it.
After every step:

- every output the journal counts as published holds the pages of the content its row
  was converted from (no input's outputs replaced by another's), and its XMP names that
  content's SHA-256;
- no input file was ever changed;
- ``scan2pdf verify`` is clean, or names exactly outputs the test edited by hand.

Bounded by examples and steps so it runs in about two minutes; Hypothesis prints the
steps of a failing sequence and the seed to replay it (``--hypothesis-seed``).
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from contextlib import closing
from pathlib import Path, PurePath

import pikepdf
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from scan2pdf import convert
from scan2pdf.core import pipeline as pipeline_module
from scan2pdf.core.jobs import Input, Work
from scan2pdf.core.pipeline import Feed, Pipeline
from scan2pdf.core.resume import FeedTraits
from scan2pdf.state.fixity import Tally, audit
from scan2pdf.state.journal import Journal, default_path
from scan2pdf.worker.stamp import read_stamp

from .engine_helpers import NULL_ENGINE, scan

NAMES = ("a.png", "b.png", "a.tif", "sub/a.png", "sub/c.png")
CONTENTS = range(6)


class Crash(BaseException):
    """What a kill -9 mid-publish leaves, without killing the test: the journal row in
    ``publishing``, one output renamed into place, the other not."""


def level(content: int) -> int:
    """The grey of a content's first page, as ``scan(shade=...)`` draws it."""
    return 255 - (content * 30) % 200


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def first_grey(pdf: Path) -> int:
    with pikepdf.open(pdf) as opened:
        image = next(iter(opened.pages[0].images.values()))
        return int(pikepdf.PdfImage(image).as_pil_image().convert("L").getpixel((5, 5)))


def embedded_source(pdf: Path) -> str | None:
    """The source's SHA-256 the PDF's XMP names (``worker/stamp.py``)."""
    return read_stamp(pdf).get("SourceSHA256")


class Archive(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.root = Path(tempfile.mkdtemp(prefix="scan2pdf-property-"))
        self.src, self.out, self.inbox = self.root / "src", self.root / "out", self.root / "inbox"
        self.src.mkdir()
        self.content_of: dict[str, int] = {}  # hash -> content number
        self.inputs: dict[Path, str] = {}  # every input file written, with its hash
        self.edited: set[Path] = set()  # outputs changed by hand, until made again
        self.drops = 0

    def teardown(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    # ---- inputs ------------------------------------------------------------------------

    def _write(self, path: Path, content: int) -> None:
        pages = 2 if path.suffix == ".tif" else 1
        scan(path, pages=pages, shade=content * 30)
        digest = sha(path)
        self.content_of.setdefault(digest, content)
        self.inputs[path] = digest

    @rule(name=st.sampled_from(NAMES), content=st.sampled_from(CONTENTS))
    def put(self, name: str, content: int) -> None:
        """A scan saved into the tree: a new name, or new bytes under an old one."""
        self._write(self.src / name, content)

    @precondition(lambda self: self._tree())
    @rule(data=st.data(), name=st.sampled_from(NAMES))
    def copy_or_rename(self, data: st.DataObject, name: str) -> None:
        source = data.draw(st.sampled_from(self._tree()))
        target = self.src / name
        if target == source:
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        if data.draw(st.booleans(), label="rename"):
            source.rename(target)
            self.inputs.pop(source)
        else:
            shutil.copyfile(source, target)
        self.inputs[target] = sha(target)

    def _tree(self) -> list[Path]:
        return sorted(p for p in self.inputs if p.is_relative_to(self.src) and p.exists())

    # ---- runs --------------------------------------------------------------------------

    @precondition(lambda self: self._tree())
    @rule()
    def run_convert(self) -> None:
        report = convert([self.src], self.out, NULL_ENGINE)
        assert report.failed == 0, report.failures
        self._healed()

    @rule(
        name=st.sampled_from(("x.png", "sub/x.png", "a.png")),
        first=st.sampled_from(CONTENTS),
        again=st.one_of(st.none(), st.sampled_from(CONTENTS)),
    )
    def run_watch(self, name: str, first: int, again: int | None) -> None:
        """Drops into the hot folder; ``again``: the same name dropped with those bytes
        while the first is still converting (the pipeline decides it before collecting)."""
        items = [self._drop(name, first)]
        if again is not None:
            items.append(self._drop(name, again))
        report = Pipeline(self.out, NULL_ENGINE).convert(Feed(items, FeedTraits(drops=True)))
        assert report.failed == 0, report.failures
        self._healed()

    def _drop(self, name: str, content: int) -> Input:
        self.drops += 1
        claimed = self.inbox / ".scan2pdf" / "claims" / str(self.drops) / name
        claimed.parent.mkdir(parents=True, exist_ok=True)
        self._write(claimed, content)
        rel = PurePath(name)
        kind = "image"
        return Input(str(self.inbox / rel), claimed, kind, rel.parent, rel.name, Work())

    @precondition(lambda self: self._tree())
    @rule()
    def crash_while_publishing_then_restart(self) -> None:
        real = pipeline_module.commit

        def half(ready: object, staging: Path | None = None) -> None:
            files = ready.files  # type: ignore[attr-defined]
            tmp, dst = files[0]
            tmp.replace(dst)  # the sidecar in place, the PDF not
            raise Crash

        pipeline_module.commit = half  # type: ignore[assignment]
        try:
            convert([self.src, *()], self.out, NULL_ENGINE)
        except Crash:
            pass
        finally:
            pipeline_module.commit = real
        self.check_outputs()
        self.run_convert()  # the restart

    # ---- hands on the outputs ----------------------------------------------------------

    # What is drawn never depends on what the engine did (a failing sequence then replays
    # and shrinks the same): the output to edit is chosen by a number, not from a list.
    @rule(pick=st.integers(0, 31), how=st.sampled_from(("append", "cut", "delete", "replace")))
    def edit_output(self, pick: int, how: str) -> None:
        published = sorted(self._published())
        if not published:
            return
        target = published[pick % len(published)]
        before = sha(target)
        if how == "append":
            with target.open("ab") as tail:
                tail.write(b"\n% edited\n")
        elif how == "cut":
            whole = target.read_bytes()
            target.write_bytes(whole[: max(1, len(whole) // 3)])
        elif how == "delete":
            target.unlink()
        else:
            others = [p for p in self._published() if p.suffix == target.suffix and p != target]
            if not others:
                return
            shutil.copyfile(others[0], target)
        if target.exists() and sha(target) == before:
            return  # the same bytes (a twin's copy, an empty sidecar cut): nothing changed
        self.edited.add(target)
        assert target in self._findings(), f"verify did not name {target}"

    # ---- what must hold ----------------------------------------------------------------

    def _rows(self) -> list[tuple[str | None, dict[Path, object]]]:
        path = default_path(self.out)
        if not path.exists():
            return []
        with closing(Journal.snapshot(path)) as journal:
            return [(e.content, dict(e.published or {})) for e in journal.published_rows()]

    def _published(self) -> set[Path]:
        return {p for _, published in self._rows() for p in published if p.exists()}

    def _findings(self) -> set[Path]:
        path = default_path(self.out)
        if not path.exists():
            return set()
        with closing(Journal.snapshot(path)) as journal:
            return {f.path for f in audit(journal, Tally())}

    def _healed(self) -> None:
        """Outputs the last run made again are no longer 'edited'."""
        findings = self._findings()
        self.edited = {p for p in self.edited if p in findings}

    @invariant()
    def check_outputs(self) -> None:
        """Each published PDF holds its own content's pages; verify names only edits."""
        findings = self._findings()
        assert findings <= self.edited, f"verify found {findings - self.edited} not edited"
        for content, published in self._rows():
            assert content is not None
            for path in published:
                if path in self.edited or path.suffix != ".pdf" or not path.exists():
                    continue
                want = self.content_of[content]
                assert abs(first_grey(path) - level(want)) <= 2, (path, want)
                assert embedded_source(path) == content, path

    @invariant()
    def inputs_untouched(self) -> None:
        for path, digest in self.inputs.items():
            if path.exists():
                assert sha(path) == digest, f"input {path} changed"


TestArchive = Archive.TestCase
TestArchive.settings = settings(
    max_examples=12,
    stateful_step_count=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    print_blob=True,
)
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
