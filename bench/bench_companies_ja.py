"""``make bench-infer`` (part 2): the shipped Japanese companies task against stock GiNZA.

Texts: the dev split of data/ner-ja-stockmark (real Japanese Wikipedia sentences), and the same
sentences joined eight at a time into article-sized texts (one paragraph per sentence).

- **Baseline**: stock GiNZA as a user runs it for entities: ``spacy.load("ja_ginza")`` and
  ``nlp.pipe(texts, batch_size=64)``, the Company / Corporation_Other entities read from each doc.
  A second reference is GiNZA with only the components its NER needs (tok2vec + ner), what the
  earlier ``spacy-ner`` task ran.
- **Trained**: the ``char-ner`` runner of the shipped ``companies`` task, loaded the way a batch
  job loads it (bench/companiesmodel.py: the registry's prod model when ``NEWSOPS_HOME`` has
  one, else a short-schedule model trained once into bench/data/), ``runner.spans(texts, "ja")``: tokenizer features, the tagger,
  decoding.

Rounds alternate between the variants so that a busy machine slows all alike. Prints texts/s and
the ratio to the baseline; writes bench/results/companies_ja.json (or --result-name).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data" / "ner-ja-stockmark"
COMPANY_LABELS = ("Company", "Corporation_Other")


def texts_of(article_sentences: int) -> tuple[list[str], list[str]]:
    rows = [json.loads(line)["text"] for line in (DATA / "dev.jsonl").read_text().splitlines() if line]
    articles = ["\n".join(rows[i:i + article_sentences]) for i in range(0, len(rows), article_sentences)]
    return rows, articles


def trained_runner(tmp: Path) -> tuple[Any, str]:
    from chalicelib.contract.taskconfig import load_tasks
    from chalicelib.settings import Settings

    sys.path.insert(0, str(REPO))
    from bench.companiesmodel import companies_runner

    spec = next(t for t in load_tasks(Settings().tasks_file).tasks if t.name == "companies")
    return companies_runner(spec, tmp / "cache")


def ginza(enabled: Sequence[str] | None) -> Callable[[Sequence[str]], list[list[tuple[int, int]]]]:
    import spacy

    nlp = spacy.load("ja_ginza")
    if enabled is not None:
        nlp.select_pipes(enable=[p for p in enabled if p in nlp.pipe_names])

    def run(texts: Sequence[str]) -> list[list[tuple[int, int]]]:
        return [[(e.start_char, e.end_char) for e in doc.ents if e.label_ in COMPANY_LABELS]
                for doc in nlp.pipe(texts, batch_size=64)]
    return run


def timed_rounds(variants: dict[str, Callable[[Sequence[str]], Any]], texts: Sequence[str],
                 rounds: int) -> dict[str, float]:
    per = max(1, len(texts) // rounds)
    spent = dict.fromkeys(variants, 0.0)
    done = dict.fromkeys(variants, 0)
    for r in range(rounds):
        part = texts[r * per:(r + 1) * per]
        if not part:
            break
        for name, fn in variants.items():
            t0 = time.perf_counter()
            fn(part)
            spent[name] += time.perf_counter() - t0
            done[name] += len(part)
    return {name: done[name] / spent[name] for name in variants}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--article-sentences", type=int, default=8)
    p.add_argument("--result-name", default="companies_ja")
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.path.insert(0, str(REPO))
    import torch

    sentences, articles = texts_of(args.article_sentences)
    with tempfile.TemporaryDirectory(prefix="bench-companies-") as tmp:
        runner, version = trained_runner(Path(tmp))
        variants = {
            "stock GiNZA nlp.pipe": ginza(None),
            "GiNZA tok2vec+ner only": ginza(("tok2vec", "ner")),
            f"trained char-ner {version}": lambda texts: runner.spans(list(texts), "ja"),
        }
        for fn in variants.values():  # warm-up: model loads, first-call allocations
            fn(sentences[:16])
        results: dict[str, Any] = {}
        for label, texts in (("sentences", sentences), ("articles", articles)):
            rates = timed_rounds(variants, texts, args.rounds)
            base = rates["stock GiNZA nlp.pipe"]
            results[label] = {name: {"texts_per_s": round(rate, 1), "ratio_to_stock": round(rate / base, 2)}
                              for name, rate in rates.items()}
            print(f"{label} ({len(texts)} texts, mean {sum(map(len, texts)) / len(texts):.0f} chars):")
            for name, row in results[label].items():
                print(f"  {name:<52} {row['texts_per_s']:>8.1f} texts/s  {row['ratio_to_stock']:>5.2f}x stock GiNZA")
    out = {"device": "cuda" if torch.cuda.is_available() else "cpu", "cpu": platform.processor() or platform.machine(),
           "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(), "model": version,
           "rounds": args.rounds, "results": results}
    if not args.no_write:
        path = REPO / "bench" / "results" / f"{args.result_name}.json"
        path.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
        print(f"written {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
