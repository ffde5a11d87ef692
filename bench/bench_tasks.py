"""``make bench-tasks`` (part 3 of ``make bench-infer``): the shipped task config, every task.

Articles: generated English and Japanese news (the sample generator's mix, about a quarter
Japanese), title and body as every task sees them.

- **Engine**: each task of the shipped ``chalicelib/config/tasks.json`` loaded by
  ``newsops_batch.tasks.load_runner`` and run with ``runner.run(articles)``, one task after
  another, as the batch job runs each: embedding (MiniLM, Japanese sent to the English model as
  the config says), companies (``char-ner``: the trained Japanese tagger, English through the
  ``en_core_web_sm`` fallback; the model from bench/companiesmodel.py), category (zero-shot on
  MiniLM for English, GiNZA word vectors for Japanese). The category task embeds its articles
  itself: the bench has no store, and with the shipped ``backbone_wait_s`` 0 a job reuses the
  embedding task's result only when it is already written.
- **Baseline "encode"** (what a competent user writes for the same outputs, no project code):
  sentence-transformers ``model.encode(texts)`` (batch_size=32) for every article, the English
  category read off those vectors against ``encode()``-d label descriptions, English companies
  from ``en_core_web_sm`` ``nlp.pipe`` (ORG), and one stock GiNZA ``nlp.pipe`` over the Japanese
  articles giving both their companies (Company, Corporation_Other) and ``doc.vector`` for the
  category.
- **Baseline "naive"**: the same libraries one text at a time, each task on its own (as the
  engine's tasks are): the MiniLM loop of bench_infer, a second loop for the category, ``nlp(text)``
  per article and task.

All three run in the same process on the same articles, in rounds whose order rotates, so that a
loaded machine slows them alike (the load average is recorded). The Japanese company spans come
from different models (the trained tagger against stock GiNZA): the agreement figures compare
English spans and category labels only. Writes bench/results/tasks.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from bench.benchfile import write_result  # noqa: E402

GOAL = ("the shipped tasks.json (embedding, companies, category) over English and Japanese "
        "articles: faster than the batched library calls a competent user writes (encode(), "
        "nlp.pipe) and than the one-text-at-a-time loop; embeddings within cosine >= 0.999 of "
        "encode(), the English category and companies as the baseline finds them")

Outputs = dict[str, list[Any]]  # task -> one output per article: vector, label, set of names


def make_articles(n: int, seed: int = 21) -> list[Any]:
    from chalicelib.contract.schema import Article
    from newsops.sample import generate

    return [Article(**a.record(), id=f"bench-{i}") for i, a in enumerate(generate(n, seed=seed))]


def text_of(article: Any) -> str:
    from newsops_batch.tasks import article_text

    return article_text(article)  # type: ignore[no-any-return]


# -- the engine: the shipped runners ------------------------------------------------------------

class Engine:
    def __init__(self, tasks: Sequence[Any], cache: Path) -> None:
        from newsops_batch.tasks import load_runner

        from bench.companiesmodel import companies_runner

        self.runners: dict[str, Any] = {}
        self.companies_version = ""
        for spec in tasks:
            if spec.kind == "char-ner":
                self.runners[spec.name], self.companies_version = companies_runner(spec, cache)
            else:
                self.runners[spec.name] = load_runner(spec)

    def run(self, articles: Sequence[Any]) -> Outputs:
        raw = {name: r.run(articles) for name, r in self.runners.items()}
        return {"embedding": [np.asarray(o["embedding"], dtype=np.float32) for o in raw["embedding"]],
                "category": [o["label"] for o in raw["category"]],
                "companies": [{str(c["normalized"]).casefold() for c in o["companies"]} for o in raw["companies"]]}


# -- the baselines ------------------------------------------------------------------------------

class Baselines:
    """The libraries a user reaches for, loaded once: the same weights and pipelines."""

    def __init__(self, tasks: Sequence[Any], engine: Engine) -> None:
        import spacy
        from newsops_batch.modelpath import resolve_model_dir
        from sentence_transformers import SentenceTransformer

        specs = {t.name: t for t in tasks}
        emb, cat, comp = specs["embedding"], specs["category"], specs["companies"]
        self.st = SentenceTransformer(str(resolve_model_dir(emb.model)))
        self.embedding_runner = engine.runners["embedding"]  # its modules, for the naive loop
        self.en_labels, en_texts = zip(*cat.options["labels"].items(), strict=True)
        self.en_matrix = self.st.encode(list(en_texts))
        route = cat.options["routes"]["ja"]
        self.ja = spacy.load(route["pipeline"].removeprefix("package:"))
        self.ja_labels, ja_texts = zip(*route["labels"].items(), strict=True)
        self.ja_matrix = unit(np.stack([d.vector for d in self.ja.pipe(ja_texts)]))
        fallback = comp.options["fallback"]
        self.en = spacy.load(fallback["model"].removeprefix("package:"))
        self.en_wanted = set(fallback["labels"]["en"])
        self.ja_wanted = {"Company", "Corporation_Other"}

    def encode(self, articles: Sequence[Any]) -> Outputs:
        texts = [text_of(a) for a in articles]
        vectors = list(self.st.encode(texts))
        out: Outputs = {"embedding": vectors, "category": [None] * len(texts),
                        "companies": [set()] * len(texts)}
        en = [i for i, a in enumerate(articles) if a.language == "en"]
        ja = [i for i, a in enumerate(articles) if a.language == "ja"]
        for i, label in zip(en, self._labels(np.stack([vectors[i] for i in en]), en), strict=True):
            out["category"][i] = label
        for i, doc in zip(en, self.en.pipe([texts[i] for i in en]), strict=True):
            out["companies"][i] = names(doc, self.en_wanted)
        docs = list(self.ja.pipe([texts[i] for i in ja]))
        for i, doc in zip(ja, docs, strict=True):
            out["companies"][i] = names(doc, self.ja_wanted)
        ja_vectors = unit(np.stack([d.vector for d in docs])) if docs else np.zeros((0, 1))
        for i, row in zip(ja, ja_vectors, strict=True):
            out["category"][i] = self.ja_labels[int(np.argmax(self.ja_matrix @ row))]
        return out

    def naive(self, articles: Sequence[Any]) -> Outputs:
        from bench.bench_infer import naive_embed

        texts = [text_of(a) for a in articles]
        out: Outputs = {"embedding": naive_embed(self.embedding_runner, texts),
                        "category": [None] * len(texts), "companies": [set()] * len(texts)}
        for i, a in enumerate(articles):  # the category task: its own pass over each article
            if a.language == "en":
                vector = naive_embed(self.embedding_runner, [texts[i]])[0]
                out["category"][i] = self.en_labels[int(np.argmax(self.en_matrix @ vector))]
            elif a.language == "ja":
                row = unit(self.ja(texts[i]).vector[None, :])[0]
                out["category"][i] = self.ja_labels[int(np.argmax(self.ja_matrix @ row))]
        for i, a in enumerate(articles):  # the companies task
            nlp, wanted = (self.en, self.en_wanted) if a.language == "en" else (self.ja, self.ja_wanted)
            out["companies"][i] = names(nlp(texts[i]), wanted)
        return out

    def _labels(self, vectors: np.ndarray, idx: list[int]) -> list[str]:
        return [self.en_labels[int(j)] for j in (vectors @ self.en_matrix.T).argmax(1)] if idx else []


def names(doc: Any, wanted: set[str]) -> set[str]:
    """The entities' names as the engine's output compares them: normalised (legal forms and
    spacing as ``companynames`` treats them), case-folded."""
    from newsops_batch.companynames import normalize_company

    return {n.casefold() for e in doc.ents if e.label_ in wanted if (n := normalize_company(e.text))}


def unit(m: np.ndarray) -> np.ndarray:
    return m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)


# -- measurement --------------------------------------------------------------------------------

def timed_rounds(variants: dict[str, Callable[[Sequence[Any]], Outputs]], articles: Sequence[Any],
                 rounds: int) -> tuple[dict[str, float], dict[str, Outputs]]:
    seconds = dict.fromkeys(variants, 0.0)
    outputs: dict[str, Outputs] = {k: {"embedding": [], "category": [], "companies": []} for k in variants}
    names = list(variants)
    size = -(-len(articles) // rounds)
    for r in range(rounds):
        part = articles[r * size:(r + 1) * size]
        if not part:
            break
        print(f"round {r + 1}/{rounds}: {len(part)} articles", flush=True)
        for name in names[r % len(names):] + names[:r % len(names)]:  # who goes first rotates
            t0 = time.perf_counter()
            got = variants[name](part)
            seconds[name] += time.perf_counter() - t0
            for k in outputs[name]:
                outputs[name][k].extend(got[k])
    return seconds, outputs


def agreement(ours: Outputs, theirs: Outputs, articles: Sequence[Any]) -> dict[str, float]:
    en = [i for i, a in enumerate(articles) if a.language == "en"]
    ja = [i for i, a in enumerate(articles) if a.language == "ja"]
    cos = [float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))
           for a, b in zip(ours["embedding"], theirs["embedding"], strict=True)]

    def share(idx: list[int], k: str) -> float:
        return round(sum(ours[k][i] == theirs[k][i] for i in idx) / max(1, len(idx)), 4)

    return {"min_cosine": round(min(cos), 6), "category_agreement_en": share(en, "category"),
            "category_agreement_ja": share(ja, "category"), "companies_agreement_en": share(en, "companies"),
            "company_names_ja": sum(len(ours["companies"][i]) for i in ja),
            "company_names_ja_baseline": sum(len(theirs["companies"][i]) for i in ja)}


def main(argv: list[str] | None = None) -> int:
    import torch

    from chalicelib.contract.taskconfig import load_tasks

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--articles", type=int, default=160)
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--tasks", type=Path, help="the task config (default: the shipped one)")
    p.add_argument("--no-write", action="store_true", help="print only; keep bench/results as is")
    args = p.parse_args(argv)
    tasks = load_tasks(args.tasks).tasks
    articles = make_articles(args.articles)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-tasks-") as tmp:
        engine = Engine(tasks, Path(tmp) / "cache")
        base = Baselines(tasks, engine)
        variants = {"engine": engine.run, "encode": base.encode, "naive": base.naive}
        for fn in variants.values():  # warm-up: first-call allocations, lazy model loads
            fn(articles[:2] + [a for a in articles if a.language == "ja"][:2])
        seconds, outputs = timed_rounds(variants, articles, args.rounds)
    n = len(articles)
    languages = {lang: sum(a.language == lang for a in articles) for lang in ("en", "ja")}
    metrics: dict[str, float] = {
        "ratio_vs_encode": round(seconds["encode"] / seconds["engine"], 3),
        "ratio_vs_naive": round(seconds["naive"] / seconds["engine"], 3),
        "articles_per_s": round(n / seconds["engine"], 2), "seconds": round(seconds["engine"], 2),
        "articles": n, "articles_en": languages["en"], "articles_ja": languages["ja"]}
    metrics.update({f"{k}_vs_encode": v for k, v in agreement(outputs["engine"], outputs["encode"], articles).items()})
    baseline = {"articles_per_s_encode": round(n / seconds["encode"], 2), "seconds_encode": round(seconds["encode"], 2),
                "articles_per_s_naive": round(n / seconds["naive"], 2), "seconds_naive": round(seconds["naive"], 2)}
    for k in sorted(metrics):
        print(f"  {k:40s} {metrics[k]}")
    for k in sorted(baseline):
        print(f"  {k:40s} {baseline[k]}")
    if not args.no_write:
        path = write_result(
            "tasks", metrics, baseline, metrics["ratio_vs_encode"], GOAL,
            tasks_file=str(args.tasks or "chalicelib/config/tasks.json"),
            tasks=[f"{t.name} ({t.kind}, {t.model})" for t in tasks],
            companies_model=engine.companies_version, rounds=args.rounds,
            device="cuda" if torch.cuda.is_available() else "cpu", torch_threads=torch.get_num_threads(),
            load_average_before_after=[round(x, 2) for x in (*load_before, *os.getloadavg())])
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
