"""Shared fixtures: the samples, the shared corpus, and running the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# The test process reads pages in-process as a worker does (worker/loaded.py): one thread
# per Tesseract, set before anything loads it, as the workers set it (execution/workerproc.py).
os.environ["OMP_THREAD_LIMIT"] = "1"

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
CORPUS = ROOT.parent / "shared" / "corpus"
SCAN2PDF = [sys.executable, "-m", "scan2pdf"]


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    report: list[dict[str, object]]

    def by_name(self) -> dict[str, dict[str, object]]:
        return {Path(str(r["input"])).name: r for r in self.report}


def run_scan2pdf(
    *args: str | Path,
    report: Path | None = None,
    timeout: float = 600,
    env: dict[str, str] | None = None,
) -> Run:
    """Run the real CLI in a subprocess (real worker processes, real Tesseract)."""
    argv = [*SCAN2PDF, *map(str, args)]
    if report is not None:
        argv += ["--report", str(report)]
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )
    lines = report.read_text(encoding="utf-8").splitlines() if report and report.exists() else []
    return Run(done.returncode, done.stdout, done.stderr, [json.loads(line) for line in lines])


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not (CORPUS / "MANIFEST.md").exists():
        pytest.skip("../shared/corpus is not present")
    return CORPUS


@dataclass
class SamplesRun:
    outdir: Path
    run: Run


@pytest.fixture(scope="session")
def samples_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SamplesRun]:
    """One real conversion of samples/ in all three languages, shared by many tests."""
    base = tmp_path_factory.mktemp("samples-run")
    outdir = base / "out"
    run = run_scan2pdf(
        "convert",
        SAMPLES,
        "-o",
        outdir,
        "-l",
        "eng+spa+chi_sim",
        "-j",
        "2",
        report=base / "report.jsonl",
    )
    yield SamplesRun(outdir, run)
