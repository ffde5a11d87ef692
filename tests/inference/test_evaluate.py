from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

from chalicelib.contract import keys
from chalicelib.contract.schema import ChunkInfo, InputRef, RunManifest, TaskSpec
from chalicelib.jsonl import encode
from chalicelib.store.local import LocalObjectStore
from newsops.evaluate import evaluate_run, evaluation_rows, print_evaluation


def test_precision_recall_and_accuracy_per_language(tmp_path: Path):
    store = LocalObjectStore(tmp_path / "store")
    truth = [
        {"url": "https://n.example/1", "language": "en", "category": "energy",
         "companies": ["Northwind Holdings Inc.", "Northwind Holdings", "Meridian Bank plc"]},
        {"url": "https://n.example/2", "language": "ja", "category": "labor",
         "companies": ["東和電機株式会社", "東和電機"]},
        {"url": "https://n.example/3", "language": "en", "category": "markets", "companies": []},
    ]
    ids = [keys.article_id(t["url"]) for t in truth]
    (tmp_path / "truth.jsonl").write_text("".join(json.dumps(t, ensure_ascii=False) + "\n" for t in truth))
    companies = [
        {"companies": [{"name": "Northwind Holdings", "normalized": "Northwind Holdings"},
                       {"name": "Solar", "normalized": "Solar"}]},
        {"companies": [{"name": "株式会社東和電機", "normalized": "東和電機"}]},
        {"companies": []},
    ]
    category = [{"label": "energy", "score": 0.9}, {"label": "mergers", "score": 0.5},
                {"label": "markets", "score": 0.8}]
    specs = [TaskSpec(name="companies", kind="spacy-ner", model="m"),
             TaskSpec(name="category", kind="zero-shot", model="m")]
    for spec, outs in zip(specs, (companies, category), strict=True):
        store.put(keys.result("r", spec.name, 0),
                  encode([{"id": i, "task": spec.name, "output": o} for i, o in zip(ids, outs, strict=True)]))
    manifest = RunManifest(run_id="r", created=datetime.now(UTC),
                           input=InputRef(uri="u", key="k", etag="e", size=1), chunk_size=3,
                           chunks=[ChunkInfo(index=0, key="c", records=3, sha256="0" * 64)],
                           articles={}, tasks=specs, code_version="t")
    store.put(keys.manifest("r"), manifest.model_dump_json().encode())

    report = evaluate_run(SimpleNamespace(store=store), "r", tmp_path / "truth.jsonl")
    comp = report["tasks"]["companies"]["by_language"]
    assert comp["en"] | {} == {**comp["en"], "tp": 1, "fp": 1, "fn": 1, "precision": 0.5, "recall": 0.5}
    assert comp["ja"]["precision"] == 1.0 and comp["ja"]["recall"] == 1.0
    assert comp["all"]["tp"] == 2 and comp["all"]["articles"] == 3
    cat = report["tasks"]["category"]["by_language"]
    assert cat["en"]["accuracy"] == 1.0 and cat["ja"]["accuracy"] == 0.0
    assert cat["all"]["correct"] == 2
    assert report["evaluated_articles"] == 3
    assert len(list(evaluation_rows(report))) == 6
    print_evaluation(report)
