from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from newsops_batch.modelpath import ModelRef
from newsops_batch.tasks import JobContext, article_text, load_runner

from chalicelib.contract import keys
from chalicelib.contract.schema import ChunkInfo, InputRef, RunManifest, TaskSpec
from chalicelib.jsonl import encode
from chalicelib.store.local import LocalObjectStore
from tests.inference.tinymodels import article

LABELS = {"energy": "oil gas power solar wind energy", "labor": "workers union wages strike jobs"}


def test_zero_shot_picks_the_nearest_description(tiny_models, spec_for):
    spec = spec_for("zero-shot", tiny_models["embedding"], options={"labels": LABELS})
    runner = load_runner(spec)
    arts = [article(1, LABELS["energy"]), article(2, LABELS["labor"])]
    out = runner.run(arts)
    # A random model still embeds a text nearest to itself.
    assert [o["label"] for o in out] == ["energy", "labor"]
    assert all(0 < o["score"] <= 1 for o in out)


def test_prototypes_are_mean_embeddings_of_examples(tiny_models, spec_for):
    spec = spec_for("prototype", tiny_models["embedding"],
                    options={"examples": {"energy": ["oil gas", "solar wind power"],
                                          "labor": ["union strike", "workers wages jobs"]}})
    out = load_runner(spec).run([article(1, "oil gas"), article(2, "union strike")])
    assert [o["label"] for o in out] == ["energy", "labor"]


def test_text_classification_gives_a_label_and_probability(tiny_models, spec_for):
    out = load_runner(spec_for("text-classification", tiny_models["classifier"])).run(
        [article(1, "profit rose"), article(2, "union strike " * 200)])
    assert all(o["label"] in ("earnings", "energy", "labor") and 0 < o["score"] <= 1 for o in out)


def test_the_backbone_task_result_is_reused_instead_of_a_second_forward_pass(tiny_models, spec_for, tmp_path: Path):
    """The category task reads the embedding task's vectors for the same chunk."""
    model = str(tiny_models["embedding"])
    emb_spec = spec_for("embedding", model, name="embedding")
    cat_spec = spec_for("zero-shot", model, name="category",
                        options={"labels": LABELS, "backbone_task": "embedding"})
    arts = [article(i, body) for i, body in enumerate(["oil gas power", "union strike", "solar wind"])]
    store = LocalObjectStore(tmp_path / "store")
    chunk = ChunkInfo(index=0, key=keys.chunk("r", 0), records=3, sha256=hashlib.sha256(b"c").hexdigest())
    manifest = RunManifest(run_id="r", created=datetime.now(UTC),
                           input=InputRef(uri="u", key="k", etag="e", size=1), chunk_size=3,
                           chunks=[chunk], articles={}, tasks=[emb_spec, cat_spec], code_version="t")
    context = JobContext(store=store, manifest=manifest, chunk=chunk,
                         model=ModelRef(uri=model, version="t1"))

    # Without the backbone's result the classifier embeds the articles itself ...
    alone = load_runner(cat_spec, context)
    expected = alone.run(arts)
    assert alone.result_metadata["backbone_computed"] == "3"

    # ... with it (two of three articles present), only the missing one runs through the model.
    emb_out = load_runner(emb_spec).run(arts[:2])
    store.put(keys.result("r", "embedding", 0),
              encode([{"id": a.id, "task": "embedding", "output": o} for a, o in zip(arts[:2], emb_out, strict=True)]),
              metadata={"input_sha256": chunk.sha256, "model_uri": model, "model_sha256": ""})
    shared = load_runner(cat_spec, context)
    before = shared.backbone.engine.stats.sequences
    got = shared.run(arts)
    assert shared.backbone.engine.stats.sequences - before == 1
    assert shared.result_metadata == {"backbone_task": "embedding", "backbone_reused": "2",
                                      "backbone_computed": "1"}
    assert [o["label"] for o in got] == [o["label"] for o in expected]
    assert np.allclose([o["score"] for o in got], [o["score"] for o in expected], atol=1e-3)

    # A result computed from another version of the chunk is never reused.
    stale = ChunkInfo(index=0, key=chunk.key, records=3, sha256="0" * 64)
    other = load_runner(cat_spec, JobContext(store=store, manifest=manifest, chunk=stale))
    other.run(arts)
    assert other.result_metadata["backbone_reused"] == "0"


def test_embedding_of_an_unhandled_language_is_null_not_a_failure(tiny_models, spec_for):
    spec = spec_for("embedding", tiny_models["embedding"], languages=["en"])
    out = load_runner(spec).run([article(1, "oil", language="en"), article(2, "öl", language="de")])
    assert len(out[0]["embedding"]) == 32 and out[1]["embedding"] is None
    assert article_text(article(3, "b", title="a")) == "a\n\nb"


def test_task_spec_defaults_are_valid_for_every_kind(tiny_models):
    for kind in ("embedding", "zero-shot", "prototype", "text-classification", "token-classification"):
        TaskSpec(name="t", kind=kind, model=str(tiny_models["embedding"]))
