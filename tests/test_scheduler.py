"""The local executor's invariants, with a fake engine in real worker processes."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from scan2pdf.core.jobs import Job, Outcome, Work
from scan2pdf.core.options import Options
from scan2pdf.core.report import FileResult
from scan2pdf.execution.local import LocalExecutor, cpu_budget

FAKE = "tests.fakes:fake_work"
FAKE_PAGES = "tests.fakes:fake_pages"


def jobs(folder: Path, names: list[str]) -> list[Job]:
    made = []
    for index, name in enumerate(names):
        source = folder / name
        source.write_bytes(b"")
        made.append(
            Job(
                str(source),
                source,
                "pdf",
                folder / f"{name}.out.pdf",
                folder / f"{name}.out.txt",
                Options(),
                index,
            )
        )
    return made


def intervals(folder: Path, name: str | None = None) -> list[tuple[float, float, int]]:
    """(start, end, pid) of every span that held a slot (only ``name``'s, if given)."""
    rows = [line.split() for line in (folder / "log").read_text().splitlines()]
    return [
        (float(start), float(end), int(pid))
        for pid, start, end, _, job in rows
        if name is None or job == name
    ]


def busiest(spans: list[tuple[float, float, int]]) -> int:
    return max(sum(1 for s, e, _ in spans if s <= t < e) for t, _, _ in spans)


def executor(budget: int, tmp_path: Path, work: str = FAKE) -> LocalExecutor:
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    return LocalExecutor(budget, scratch, work=work)


def outcomes(pool: LocalExecutor, count: int) -> list[Outcome]:
    """Collect until ``count`` outcomes came, as the pipeline does once its feed is done."""
    got: list[Outcome] = []
    deadline = time.monotonic() + 120
    while len(got) < count and time.monotonic() < deadline:
        got += pool.collect(0.25, more_coming=False)
    return got


def run(budget: int, batch: list[Job], tmp_path: Path, work: str = FAKE) -> list[FileResult]:
    pool = executor(budget, tmp_path, work)
    try:
        for job in batch:
            pool.submit(job)
        return [o.result for o in outcomes(pool, len(batch))]
    finally:
        pool.close()


def test_cpu_budget_respects_affinity() -> None:
    assert 1 <= cpu_budget() <= len(os.sched_getaffinity(0))


@pytest.mark.parametrize("budget", [1, 3])
def test_busy_slots_never_exceed_the_budget(tmp_path: Path, budget: int) -> None:
    batch = jobs(tmp_path, [f"f{i}.pdf" for i in range(10)])
    results = run(budget, batch, tmp_path)
    assert sorted(r.input for r in results) == sorted(j.source for j in batch)  # each once
    assert len(results) == len(batch)
    spans = intervals(tmp_path)
    assert busiest(spans) == budget  # used, and never exceeded
    # One file more than the budget is in flight (its set-up overlaps the others' work).
    assert len({pid for _, _, pid in spans}) <= budget + 1


def test_a_long_file_takes_the_slots_short_files_free(tmp_path: Path) -> None:
    """An 8-page file among three one-page files, budget 2: the pages spread over both
    slots as soon as the short files are done, and no slot idles while pages remain."""
    batch = sized(
        tmp_path,
        {"long.pdf": (8, 8.0), "a.pdf": (1, 1.0), "b.pdf": (1, 1.0), "c.pdf": (1, 1.0)},
    )
    run(2, batch, tmp_path, work=FAKE_PAGES)
    spans = sorted(intervals(tmp_path))
    assert busiest(spans) == 2
    # From the first span's start to the last one's end, both slots were busy nearly all
    # the time: 4 file spans of 0.05 s and 11 pages of 0.3 s on 2 slots.
    first, last = spans[0][0], max(e for _, e, _ in spans)
    held = sum(e - s for s, e, _ in spans)
    assert held / (2 * (last - first)) > 0.85, f"slots busy {held / (2 * (last - first)):.0%}"
    # The long file's pages (9 spans: its own and 8 pages) ran two at once: it was not
    # held to the one slot it started with.
    long_spans = intervals(tmp_path, "long.pdf")
    assert len(long_spans) == 9
    assert busiest(long_spans) == 2


def test_a_crashing_file_fails_alone_and_the_pool_recovers(tmp_path: Path) -> None:
    names = ["a.pdf", "b.pdf", "crash.pdf", "c.pdf", "d.pdf", "e.pdf"]
    results = {r.input.name: r for r in run(2, jobs(tmp_path, names), tmp_path)}
    assert sorted(results) == sorted(names)
    crashed = results.pop("crash.pdf")
    assert (crashed.status, crashed.reason) == ("failed", "crashed")
    assert crashed.message == (
        "Its worker process died while converting it. This usually means it ran out of "
        "memory; try it alone with -j 1, or with fewer files at once."
    )
    assert {r.status for r in results.values()} == {"converted"}


def test_a_worker_that_dies_between_files_does_not_stop_the_next_one(tmp_path: Path) -> None:
    """The pool breaks when an idle worker dies; the next file gets a fresh pool."""
    import signal

    from .helpers import wait_for

    first, second = jobs(tmp_path, ["first.pdf", "second.pdf"])
    pool = executor(1, tmp_path)
    try:
        pool.submit(first)
        assert [o.result.status for o in outcomes(pool, 1)] == ["converted"]
        (pid,) = {pid for _, _, pid in intervals(tmp_path)}
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not Path(f"/proc/{pid}/status").exists(), 10, "the worker to go")
        pool.submit(second)
        assert [o.result.status for o in outcomes(pool, 1)] == ["converted"]
    finally:
        pool.close()


def test_closing_the_run_stops_every_worker_at_once(tmp_path: Path) -> None:
    batch = jobs(tmp_path, ["fast.pdf", "slow1.pdf", "slow2.pdf"])
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    pool = LocalExecutor(3, scratch, work=FAKE)
    for job in batch:
        pool.submit(job)
    first = outcomes(pool, 1)
    assert [o.result.input.name for o in first] == ["fast.pdf"]
    started = time.monotonic()
    pool.cancel()  # what a stop (Ctrl-C, SIGTERM) does
    assert time.monotonic() - started < 10  # not the 60 s the slow files would take
    for name in ("slow1.pdf", "slow2.pdf"):
        pid = int((tmp_path / f"{name}.pid").read_text())
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            time.sleep(0.05)
        assert not Path(f"/proc/{pid}").exists(), f"worker {pid} still running"


def sized(folder: Path, sizes: dict[str, tuple[int, float]]) -> list[Job]:
    """Jobs with a guessed workload (pages, megapixels), in the given discovery order."""
    made = []
    for index, (name, (pages, mpixels)) in enumerate(sizes.items()):
        source = folder / name
        source.write_bytes(b"")
        made.append(
            Job(
                str(source),
                source,
                "pdf",
                folder / f"{name}.pdf",
                folder / f"{name}.txt",
                Options(),
                index,
                Work(pages, mpixels),
            )
        )
    return made


def test_biggest_work_starts_first(tmp_path: Path) -> None:
    batch = sized(
        tmp_path,
        {"small.pdf": (1, 0.5), "huge.pdf": (1, 30.0), "mid.pdf": (1, 8.0), "tiny.pdf": (1, 0.1)},
    )
    run(1, batch, tmp_path)
    started = (tmp_path / "started").read_text().split()
    # One file more than the budget is in flight: the two biggest start together.
    assert set(started[:2]) == {"huge.pdf", "mid.pdf"}
    assert started[2:] == ["small.pdf", "tiny.pdf"]


def test_a_long_file_alone_uses_every_slot(tmp_path: Path) -> None:
    run(3, sized(tmp_path, {"long.pdf": (9, 1.0)}), tmp_path, work=FAKE_PAGES)
    assert busiest(intervals(tmp_path)) == 3
