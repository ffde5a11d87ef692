"""Tiny BERT models built in temp dirs and loaded through the real loading code.

``rigged_ner`` is a token classifier whose answer is known: attention and feed-forward outputs
are zeroed, so each token's hidden state is its own (layer-normed) word embedding, and the head
reads two embedding dimensions: "acme" -> B-ORG, "corp" -> I-ORG, everything else -> O. Windows
and batching then cannot change its predictions, which makes span offsets exactly checkable.
"""

from __future__ import annotations

import json
from pathlib import Path

WORDS = (
    "the a an of to in and for on with at by from as is was are were be has have had it its "
    "said says company companies shares share stock market markets price prices profit loss "
    "revenue quarter year years percent billion million bank energy oil gas power solar wind "
    "workers union wages strike jobs chips software cloud data deal merger bid buy sell "
    "acme corp inc ltd holdings group new first last final paragraph report reported results "
    "rose fell up down more less than after before week month today analysts expect expected"
).split()
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
CHARS = list("abcdefghijklmnopqrstuvwxyz0123456789")
PUNCT = list(".,;:!?%$'\"()-")


def vocab() -> dict[str, int]:
    tokens = SPECIALS + WORDS + CHARS + [f"##{c}" for c in CHARS] + PUNCT
    return {t: i for i, t in enumerate(dict.fromkeys(tokens))}


def save_tokenizer(path: Path) -> None:
    from transformers import BertTokenizer

    BertTokenizer(vocab=vocab(), do_lower_case=True).save_pretrained(path)


def tiny_config(**extra: object):
    from transformers import BertConfig

    return BertConfig(vocab_size=len(vocab()), hidden_size=32, num_hidden_layers=2,
                      num_attention_heads=2, intermediate_size=64, max_position_embeddings=128,
                      **extra)


def build(path: Path, kind: str, seed: int = 0) -> Path:
    import torch
    from transformers import (
        BertForSequenceClassification,
        BertForTokenClassification,
        BertModel,
    )

    torch.manual_seed(seed)
    path.mkdir(parents=True, exist_ok=True)
    if kind == "embedding":
        model = BertModel(tiny_config())
    elif kind == "ner":
        model = BertForTokenClassification(tiny_config(
            id2label={0: "O", 1: "B-ORG", 2: "I-ORG"}, label2id={"O": 0, "B-ORG": 1, "I-ORG": 2}))
    elif kind == "rigged_ner":
        model = BertForTokenClassification(tiny_config(
            id2label={0: "O", 1: "B-ORG", 2: "I-ORG"}, label2id={"O": 0, "B-ORG": 1, "I-ORG": 2}))
        _rig(model)
    elif kind == "classifier":
        labels = ["earnings", "energy", "labor"]
        model = BertForSequenceClassification(tiny_config(
            id2label=dict(enumerate(labels)), label2id={x: i for i, x in enumerate(labels)}))
    else:
        raise ValueError(kind)
    model.save_pretrained(path)
    save_tokenizer(path)
    return path


def _rig(model) -> None:
    import torch

    v = vocab()
    with torch.no_grad():
        emb = model.bert.embeddings
        emb.position_embeddings.weight.zero_()
        emb.token_type_embeddings.weight.zero_()
        w = emb.word_embeddings.weight
        w[:, 0] = -1.0
        w[:, 1] = -1.0
        w[v["acme"], 0] = 3.0
        w[v["corp"], 1] = 3.0
        for layer in model.bert.encoder.layer:
            layer.attention.output.dense.weight.zero_()
            layer.attention.output.dense.bias.zero_()
            layer.output.dense.weight.zero_()
            layer.output.dense.bias.zero_()
        head = model.classifier
        head.weight.zero_()
        head.bias.zero_()
        head.weight[1, 0] = 1.0
        head.weight[2, 1] = 1.0
        head.bias[1] = -1.0
        head.bias[2] = -1.0


def article(i: int, body: str, title: str = "Report", language: str = "en"):
    from chalicelib.contract.schema import Article

    return Article(url=f"https://news.example/{i}", title=title, body=body, language=language)


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data))
    return path
