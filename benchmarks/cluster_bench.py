"""A 2-worker loopback Dask cluster against a local run, on the same batches.

A real ``dask scheduler`` and two ``dask worker`` processes (1 thread each: the same two
busy threads as ``-j 2``) on 127.0.0.1; each batch converted by ``scan2pdf convert -j 2``
and by ``scan2pdf convert --cluster``, interleaved rounds, a fresh OUTDIR each time;
medians and the cluster/local ratio. Shapes from ``bench.py``: ``mixed`` (15 files of 1 to
12 pages), ``small`` (120 single pages), ``tail`` (an 8-page volume among 4 letters: the
one a cluster did worst while a file's pages stayed on one worker thread; its volume is
now cut into two page ranges, ``execution/ranges.py``), ``volume-40`` (one 40-page
volume, cut into four ranges: the real pages of ``bench.py``'s ``turned-volume``, 12 of
them turned, when ``../shared/corpus`` is there, else the samples' scanned report).

After the rounds, each shape's last cluster outputs are compared with its last local
ones: same sidecars (page for page) and same report fields, or the files that differ.

    .venv/bin/python benchmarks/cluster_bench.py [--rounds 3] [--scale 1.0]
        [--only mixed,small,tail,volume-40]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import SAMPLES, Workload, build, concatenated

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(logs: Path) -> tuple[str, list[subprocess.Popen[bytes]]]:
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "start_new_session": True}
    procs = [
        subprocess.Popen(
            [
                BIN / "dask",
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-dashboard",
            ],
            stderr=(logs / "scheduler.log").open("w"),
            **quiet,  # type: ignore[arg-type]
        )
    ]
    for n in range(2):
        procs.append(
            subprocess.Popen(
                [
                    BIN / "dask",
                    "worker",
                    address,
                    "--nthreads",
                    "1",
                    "--host",
                    "127.0.0.1",
                    "--no-dashboard",
                ],
                stderr=(logs / f"w{n}.log").open("w"),
                **quiet,  # type: ignore[arg-type]
            )
        )
    deadline = time.monotonic() + 60
    while (logs / "scheduler.log").read_text().count("Register worker") < 2:
        if time.monotonic() > deadline:
            raise SystemExit("the workers did not register")
        time.sleep(0.2)
    return address, procs


def timed(argv: list[str]) -> float:
    start_at = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - start_at


def volume_40(work: Path, scale: float) -> Workload:
    """One 40-page volume (``scale`` scales it): real pages when the corpus has them."""
    real = build(work / "real", ("turned-volume",), scale).get("turned-volume")
    if real is not None:
        return Workload("volume-40", real.files)
    folder = work / "volume-40"
    folder.mkdir()
    pages = max(8, round(40 * scale))
    scanned = [SAMPLES / "reports" / "scanned-report.pdf"]
    return Workload("volume-40", [concatenated(scanned, pages, folder / f"volume-{pages}.pdf")])


def outcome(out: Path) -> dict[str, object]:
    """What a run made, comparable between runs: each sidecar's pages, and each report
    line's fields but where the files went and how long they took."""
    made: dict[str, object] = {
        str(txt.relative_to(out)): txt.read_text(encoding="utf-8").split("\f")
        for txt in sorted(out.rglob("*.txt"))
    }
    for line in (out.parent / f"{out.name}.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        made[Path(row["input"]).name] = {
            k: v for k, v in row.items() if k not in ("input", "output", "sidecar", "seconds")
        }
    return made


def differing(local: dict[str, object], cluster: dict[str, object]) -> list[str]:
    return sorted(k for k in local.keys() | cluster.keys() if local.get(k) != cluster.get(k))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default="mixed,small,tail,volume-40")
    parser.add_argument("--scale", type=float, default=1.0, help="scales volume-40's pages")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        workloads = build(work)
        if "volume-40" in args.only.split(","):
            (work / "real").mkdir()
            workloads["volume-40"] = volume_40(work, args.scale)
        address, procs = start(work)
        try:
            for name in args.only.split(","):
                folder = workloads[name].files[0].parent
                times: dict[str, list[float]] = {"local": [], "cluster": []}
                for round_ in range(args.rounds):
                    for how in ("local", "cluster"):
                        out = work / f"out-{name}-{how}-{round_}"
                        argv = [
                            str(BIN / "scan2pdf"),
                            "convert",
                            str(folder),
                            "-o",
                            str(out),
                            "-q",
                            "--no-index",
                            "--report",
                            str(work / f"out-{name}-{how}-{round_}.jsonl"),
                        ]
                        argv += ["-j", "2"] if how == "local" else ["--cluster", address]
                        times[how].append(timed(argv))
                local, cluster = (statistics.median(times[h]) for h in ("local", "cluster"))
                last = args.rounds - 1
                made = [outcome(work / f"out-{name}-{how}-{last}") for how in ("local", "cluster")]
                wrong = differing(*made)
                print(
                    f"{name:<9} local {local:6.1f} s  cluster {cluster:6.1f} s  "
                    f"cluster/local {cluster / local:4.2f}  (rounds: "
                    + ", ".join(f"{a:.1f}/{b:.1f}" for a, b in zip(*times.values(), strict=True))
                    + ")  "
                    + (f"DIFFERENT: {', '.join(wrong)}" if wrong else "same outputs")
                )
        finally:
            for proc in procs:
                os.killpg(proc.pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
