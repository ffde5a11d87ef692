"""Quality of a run against the sample's ground truth, per language.

Company names: precision and recall of the distinct companies per article, compared by their
normalised key (legal forms dropped, casefolded: "Northwind Holdings Inc." == "Northwind
Holdings"), micro-averaged over the articles of a language. Category: accuracy.

The ground truth is read here only, after the run: nothing of it reaches the extraction.
"""

from __future__ import annotations

import gzip
import io
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib.contract import keys
from chalicelib.contract.schema import RunManifest
from chalicelib.contract.taskkinds import kinds_for
from chalicelib.jsonl import iter_records
from chalicelib.store.base import ObjectStore

COMPANY_KINDS = kinds_for("companies")
CATEGORY_KINDS = kinds_for("category")


def company_key(name: str) -> str:
    # The batch package's rule, imported lazily: it is pure Python, no torch behind it.
    from newsops_batch.companynames import company_key as key

    return key(name)


@dataclass
class CompanyScore:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    articles: int = 0

    def add(self, predicted: set[str], truth: set[str]) -> None:
        self.tp += len(predicted & truth)
        self.fp += len(predicted - truth)
        self.fn += len(truth - predicted)
        self.articles += 1

    def as_dict(self) -> dict[str, float | int]:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        return {"articles": self.articles, "tp": self.tp, "fp": self.fp, "fn": self.fn,
                "precision": round(p, 4), "recall": round(r, 4), "f1": round(f1, 4)}


@dataclass
class CategoryScore:
    correct: int = 0
    total: int = 0
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, predicted: str | None, truth: str) -> None:
        self.total += 1
        self.correct += int(predicted == truth)
        row = self.confusion.setdefault(truth, {})
        row[str(predicted)] = row.get(str(predicted), 0) + 1

    def as_dict(self) -> dict[str, Any]:
        return {"articles": self.total, "correct": self.correct,
                "accuracy": round(self.correct / self.total, 4) if self.total else 0.0,
                "confusion": self.confusion}


def load_truth(path: Path) -> dict[str, dict[str, Any]]:
    """Ground-truth lines (``SampleArticle.truth()``), keyed by article id; gzip or plain."""
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    out: dict[str, dict[str, Any]] = {}
    for line in raw.splitlines():
        if line.strip():
            rec = json.loads(line)
            out[keys.article_id(rec["url"])] = rec
    return out


def read_outputs(store: ObjectStore, manifest: RunManifest, task: str) -> dict[str, dict[str, Any]]:
    """Article id -> output of one task, over every chunk that has a result."""
    out: dict[str, dict[str, Any]] = {}
    for chunk in manifest.chunks:
        try:
            data = store.get(keys.result(manifest.run_id, task, chunk.index))
        except KeyError:
            continue
        for rec in iter_records(io.BytesIO(data)):
            out[rec["id"]] = rec["output"]
    return out


def score_companies(outputs: Mapping[str, Mapping[str, Any]], truth: Mapping[str, Mapping[str, Any]],
                    ) -> dict[str, dict[str, float | int]]:
    scores: dict[str, CompanyScore] = {}
    skipped: Counter[str] = Counter()
    for aid, t in truth.items():
        if aid not in outputs:
            continue
        if outputs[aid].get("skipped"):
            # The task has no model for the article's language: not a miss, a count of its own.
            skipped.update((t.get("language") or "und", "all"))
            continue
        predicted = {company_key(c.get("normalized") or c["name"])
                     for c in outputs[aid].get("companies") or []}
        expected = {company_key(name) for name in t.get("companies", [])}
        for lang in (t.get("language") or "und", "all"):
            scores.setdefault(lang, CompanyScore()).add(predicted, expected)
    return _with_skipped({lang: s.as_dict() for lang, s in sorted(scores.items())}, skipped)


def score_categories(outputs: Mapping[str, Mapping[str, Any]], truth: Mapping[str, Mapping[str, Any]],
                     ) -> dict[str, dict[str, Any]]:
    scores: dict[str, CategoryScore] = {}
    skipped: Counter[str] = Counter()
    for aid, t in truth.items():
        if aid not in outputs or "category" not in t:
            continue
        if outputs[aid].get("skipped"):
            skipped.update((t.get("language") or "und", "all"))
            continue
        for lang in (t.get("language") or "und", "all"):
            scores.setdefault(lang, CategoryScore()).add(outputs[aid].get("label"), t["category"])
    return _with_skipped({lang: s.as_dict() for lang, s in sorted(scores.items())}, skipped)


def _with_skipped(by_language: dict[str, dict[str, Any]], skipped: Counter[str]) -> dict[str, dict[str, Any]]:
    for lang, n in skipped.items():
        by_language.setdefault(lang, {})["skipped"] = n
    return by_language


def evaluate_outputs(manifest: RunManifest, outputs: Mapping[str, Mapping[str, Mapping[str, Any]]],
                     truth: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    tasks: dict[str, Any] = {}
    for spec in manifest.tasks:
        per_task = outputs.get(spec.name, {})
        if spec.kind in COMPANY_KINDS:
            tasks[spec.name] = {"kind": spec.kind, "measure": "companies",
                                "by_language": score_companies(per_task, truth)}
        elif spec.kind in CATEGORY_KINDS:
            tasks[spec.name] = {"kind": spec.kind, "measure": "category",
                                "by_language": score_categories(per_task, truth)}
    covered = sum(1 for aid in truth if any(aid in o for o in outputs.values()))
    return {"run_id": manifest.run_id, "truth_articles": len(truth), "evaluated_articles": covered,
            "tasks": tasks}


def evaluate_run(rt: Any, run_id: str, truth_path: Path) -> dict[str, Any]:
    """Precision/recall of company names and category accuracy per language for one run.

    ``rt`` is a runtime (anything with a ``store``); ``truth_path`` the generator's truth lines.
    """
    manifest = RunManifest.model_validate_json(rt.store.get(keys.manifest(run_id)))
    outputs = {spec.name: read_outputs(rt.store, manifest, spec.name) for spec in manifest.tasks
               if spec.kind in COMPANY_KINDS + CATEGORY_KINDS}
    return evaluate_outputs(manifest, outputs, load_truth(truth_path))


def evaluation_rows(report: Mapping[str, Any]) -> Iterable[tuple[str, ...]]:
    """(task, language, articles, precision, recall, F1, accuracy) rows, for any printer."""
    for task, t in report["tasks"].items():
        for lang, s in t["by_language"].items():
            if t["measure"] == "companies":
                yield (task, lang, str(s["articles"]), f"{s['precision']:.3f}", f"{s['recall']:.3f}",
                       f"{s['f1']:.3f}", "")
            else:
                yield (task, lang, str(s["articles"]), "", "", "",
                       f"{s['accuracy']:.3f} ({s['correct']}/{s['articles']})")


def print_evaluation(report: Mapping[str, Any], console: Any = None) -> None:
    """Company-name precision/recall and category accuracy per task and language."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    table = Table(title=f"Quality against the sample's ground truth ({report['evaluated_articles']} "
                        f"of {report['truth_articles']} articles)")
    for col in ("task", "lang", "articles", "precision", "recall", "F1", "accuracy"):
        table.add_column(col, justify="left" if col in ("task", "lang") else "right")
    for row in evaluation_rows(report):
        table.add_row(*row)
    console.print(table)
