"""The search index at archive scale: build time per page, size per 1,000 pages, and query
latency (median and 95th percentile) over a fixed query set.

    .venv/bin/python benchmarks/search_bench.py [--pages 100000] [--words 220] [--repeat 15]

Synthetic pages (the size is what matters here; relevance is tested on real sidecars in
tests/test_search.py): words drawn from a 30,000-word vocabulary with a Zipf-like
distribution, Spanish words with accents on some pages, a Chinese line on 5% of them, and
the phrase "harbour master" planted on 1%. Documents of 10 pages, in 50 folders, indexed
through the same ``Index.add`` that convert and watch use.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from scan2pdf.core.search import search
from scan2pdf.state.index import Index, default_path

QUERIES = {
    "common word": "w00003",
    "rare word": "w24000",
    "phrase": '"harbour master"',
    "prefix": "w0123*",
    "accents": "periodico",
    "CJK": "档案馆",
    "AND + folder": "w00010 AND w00200",
}
SPANISH = ["periódico", "señora", "Núñez", "revisión", "página", "año", "crédito"]
CHINESE = "本馆将于下周开始整理旧报纸档案馆通知请读者提前预约查阅时间"


def page_text(rng: random.Random, words: int, weights: list[float], vocab: list[str]) -> str:
    chosen = rng.choices(vocab, weights=weights, k=words)
    if rng.random() < 0.3:
        chosen[rng.randrange(words)] = rng.choice(SPANISH)
    if rng.random() < 0.01:
        chosen.insert(rng.randrange(words), "harbour master")
    text = " ".join(chosen)
    if rng.random() < 0.05:
        start = rng.randrange(len(CHINESE) - 8)
        text += "\n" + " ".join(CHINESE[start : start + 8])  # spaced as Tesseract does
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=100_000)
    parser.add_argument("--words", type=int, default=220)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    rng = random.Random(42)
    vocab = [f"w{n:05d}" for n in range(30_000)]
    weights = [1 / (n + 1) for n in range(len(vocab))]
    with tempfile.TemporaryDirectory(prefix="scan2pdf-search-bench-") as tmp:
        out = Path(tmp)
        index = Index(default_path(out))
        started = time.perf_counter()
        for doc in range(args.pages // 10):
            pages = [page_text(rng, args.words, weights, vocab) for _ in range(10)]
            folder = f"box{doc % 50:02d}"
            pdf = out / folder / f"doc{doc:06d}.pdf"
            index.add(
                pdf,
                pdf.with_suffix(".txt"),
                f"/scans/{folder}/doc{doc:06d}.tif",
                folder,
                "\f".join(pages),
            )
        build = time.perf_counter() - started
        index.close()
        size = sum(p.stat().st_size for p in default_path(out).parent.glob("index.sqlite*"))
        print(f"pages: {args.pages}; words per page: {args.words}")
        print(
            f"build: {build:.1f} s ({build / args.pages * 1000:.2f} ms per page, "
            "text generation included)"
        )
        print(
            f"size: {size / 2**20:.0f} MiB "
            f"({size / args.pages * 1000 / 2**20:.2f} MiB per 1,000 pages)"
        )
        print("\n| query | hits (limit 20) | median ms | p95 ms |")
        print("|---|---|---|---|")
        every: list[float] = []
        for name, query in QUERIES.items():
            under = "box07" if "folder" in name else None
            times = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                hits = search(out, query, limit=20, under=under)
                times.append((time.perf_counter() - t) * 1000)
            every += times
            p95 = statistics.quantiles(times, n=20)[-1]
            print(
                f"| {name} `{query}` | {len(hits)} | {statistics.median(times):.1f} | {p95:.1f} |"
            )
        print(
            f"\nall queries: median {statistics.median(every):.1f} ms, "
            f"p95 {statistics.quantiles(every, n=20)[-1]:.1f} ms"
        )


if __name__ == "__main__":
    main()
