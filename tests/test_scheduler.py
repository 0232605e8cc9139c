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


def intervals(folder: Path) -> list[tuple[float, float, int]]:
    rows = [line.split() for line in (folder / "log").read_text().splitlines()]
    return [(float(start), float(end), int(slots)) for _, start, end, slots in rows]


def executor(budget: int, tmp_path: Path) -> LocalExecutor:
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    return LocalExecutor(budget, scratch, work=FAKE)


def outcomes(pool: LocalExecutor, count: int) -> list[Outcome]:
    """Collect until ``count`` outcomes came, as the pipeline does once its feed is done."""
    got: list[Outcome] = []
    deadline = time.monotonic() + 120
    while len(got) < count and time.monotonic() < deadline:
        got += pool.collect(0.25, more_coming=False)
    return got


def run(budget: int, batch: list[Job], tmp_path: Path) -> list[FileResult]:
    pool = executor(budget, tmp_path)
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
    for start, _, _ in spans:
        busy = sum(slots for s, e, slots in spans if s <= start < e)
        assert busy <= budget
    # With more files than slots, files run side by side and one slot each.
    assert {slots for _, _, slots in spans[:-budget]} == {1}
    if budget > 1:
        assert max(sum(1 for s, e, _ in spans if s <= t < e) for t, _, _ in spans) > 1


def test_tail_files_share_the_free_slots(tmp_path: Path) -> None:
    run(4, sized(tmp_path, {"a.pdf": (5, 1.0), "b.pdf": (5, 1.0)}), tmp_path)
    assert sorted(slots for _, _, slots in intervals(tmp_path)) == [2, 2]


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
    results = run(1, batch, tmp_path)
    assert [r.input.name for r in results] == ["huge.pdf", "mid.pdf", "small.pdf", "tiny.pdf"]


def test_a_file_never_gets_more_slots_than_pages(tmp_path: Path) -> None:
    run(4, sized(tmp_path, {"one-page.pdf": (1, 9.0), "long.pdf": (20, 1.0)}), tmp_path)
    # The one-page file gets 1 slot; the long one the other 3, since nothing else waits.
    assert sorted(slots for _, _, slots in intervals(tmp_path)) == [1, 3]
