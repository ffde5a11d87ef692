"""Deterministic generator of fictional business-news articles with ground truth.

The same ``(n, seed)`` always yields the same articles, so the demo batch, the ingest
benchmark and the evaluation sets can be regenerated instead of stored. This module is the
generator's public face; the parts live next to it:

- ``newsops/sampledata/*.json``: categories, outlets, company names and sentence templates;
- ``newsops.sampletemplates``: reads and checks those files;
- ``newsops.samplepools``: compiles the templates into pre-rendered sentence pools;
- ``newsops.samplegen``: draws articles from the pools (``generate``);
- ``newsops.samplewrite``: writes them as (gzip) JSON lines (``write_jsonl_gz``).

Run ``python -m newsops.sample OUT.jsonl.gz -n 200000 --truth TRUTH.jsonl.gz`` to write a
batch from the command line.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from newsops.samplegen import SampleArticle, generate
from newsops.sampletemplates import (
    SampleDataError,
    SourceSite,
    category_descriptions,
    companies,
    outlets,
)
from newsops.samplewrite import write_jsonl_gz

__all__ = [
    "CATEGORIES",
    "CATEGORY_DESCRIPTIONS",
    "SampleArticle",
    "SampleDataError",
    "SourceSite",
    "company_names",
    "generate",
    "sources",
    "write_jsonl_gz",
]

CATEGORY_DESCRIPTIONS: dict[str, str] = category_descriptions()
CATEGORIES: tuple[str, ...] = tuple(CATEGORY_DESCRIPTIONS)


def sources() -> list[SourceSite]:
    """All outlets, English first; articles only ever use these hosts."""
    return list(outlets())


def company_names(language: str) -> list[tuple[str, str]]:
    """(full, short) name pairs of one language, e.g. for gazetteers or tests."""
    names = companies()
    return list(names.ja if language == "ja" else names.en)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m newsops.sample", description="Write fictional business-news articles."
    )
    parser.add_argument("out", type=Path, help="output .jsonl.gz of public records")
    parser.add_argument("-n", type=int, default=240)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ja-share", type=float, default=0.25)
    parser.add_argument("--truth", type=Path, default=None, help="ground-truth JSON lines")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    try:
        count = write_jsonl_gz(
            args.out,
            generate(args.n, seed=args.seed, ja_share=args.ja_share),
            with_truth_path=args.truth,
        )
    except (ValueError, OSError) as exc:  # SampleDataError is a ValueError
        print(f"error: {exc}", file=sys.stderr)
        return 2
    dt = time.perf_counter() - t0
    print(f"wrote {count} articles to {args.out} in {dt:.2f} s ({count / dt:,.0f}/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
