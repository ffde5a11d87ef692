"""One search document per article, merged from the chunk and every task's result."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from chalicelib.contract import keys
from chalicelib.contract.schema import RunManifest, TaskSpec
from chalicelib.contract.taskkinds import TASK_KINDS
from chalicelib.jsonl import iter_records
from chalicelib.store.base import ObjectStore

_ARTICLE_FIELDS = ("id", "url", "title", "body", "source", "language", "published")


def merge_output(doc: dict[str, Any], spec: TaskSpec, output: dict[str, Any]) -> None:
    """Where each task kind's output lands in the document (the index mapping's contract)."""
    field = TASK_KINDS[spec.kind].field
    if field == "embedding":
        doc["embedding"] = output.get("embedding")
    elif field == "companies":
        doc.setdefault("companies", []).extend(output.get("companies", []))
    else:
        doc["category"] = {"label": output.get("label"), "score": output.get("score")}
    doc.setdefault("tasks", {})[spec.name] = output.get("model_version", spec.model_version)


def iter_documents(store: ObjectStore, manifest: RunManifest) -> Iterator[dict[str, Any]]:
    """Streams chunk by chunk; an article missing from a task's result simply lacks its field."""
    rid = manifest.run_id
    models = {t.name: (manifest.models.get(t.name) or {}).get("version") or t.model_version
              for t in manifest.tasks}
    replay = manifest.replay
    for chunk in manifest.chunks:
        docs: dict[str, dict[str, Any]] = {}
        with store.open_read(chunk.key) as f:
            for art in iter_records(f):
                doc = {k: art.get(k) for k in _ARTICLE_FIELDS}
                doc["run_id"] = rid
                doc["models"] = models
                docs[art["id"]] = doc
        for spec in manifest.tasks:
            try:
                data = store.get(keys.result(rid, spec.name, chunk.index))
            except KeyError:
                continue  # verify reports the missing result; indexing what exists loses nothing
            for rec in iter_records(io.BytesIO(data)):
                doc = docs.get(rec["id"])
                if doc is not None:
                    merge_output(doc, spec, rec["output"])
        for doc in docs.values():
            doc.pop("tasks", None)
            if replay is not None:
                # Beside the production document, never over it: search tells them apart.
                doc["replay_of"] = doc["id"]
                doc["id"] = keys.replay_document_id(doc["id"], replay.task, replay.model_version)
            yield doc
