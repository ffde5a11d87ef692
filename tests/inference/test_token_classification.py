from __future__ import annotations

import numpy as np
import pytest
import torch
from newsops_batch.tasks import load_runner
from newsops_batch.tasks.token_classification import Tag, decode_spans, parse_tag, special_frame
from newsops_batch.windows import best_context, window_starts

from tests.inference.tinymodels import article


@pytest.mark.parametrize("n,size,stride", [(1, 10, 3), (10, 10, 3), (11, 10, 3), (100, 16, 4), (57, 8, 0)])
def test_windows_cover_every_token_and_end_flush(n, size, stride):
    starts = window_starts(n, size, stride)
    covered = set()
    for s in starts:
        covered.update(range(s, min(s + size, n)))
    assert covered == set(range(n))
    assert starts[-1] == max(0, n - size)
    assert all(b - a <= size - stride for a, b in zip(starts, starts[1:], strict=False))


def test_each_token_takes_the_window_where_it_has_most_context():
    starts = window_starts(12, 8, 4)  # [0, 4]
    a = np.zeros((8, 1), np.float32)
    b = np.ones((8, 1), np.float32)
    out = best_context(12, 8, starts, [a, b])[:, 0]
    # Tokens 4..7 are in both windows: 4 and 5 sit nearer the middle of the first window.
    assert out.tolist() == [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]


def test_bio_and_plain_tags_decode_to_character_spans():
    tags = [parse_tag(x) for x in ("O", "B-ORG", "I-ORG", "PER")]
    assert tags[1] == Tag("B", "ORG") and tags[3] == Tag("", "PER")
    # words: Acme | Co | rp(## piece of Co) | said | Bob | Smith
    word_ids = [0, 1, 1, 2, 3, 4]
    offsets = [(0, 4), (5, 7), (7, 9), (10, 14), (15, 18), (19, 24)]
    labels = [1, 2, 0, 0, 3, 3]  # the ## piece's own label is ignored: the word's first piece decides
    probs = np.eye(4, dtype=np.float32)[labels]
    spans = decode_spans(word_ids, offsets, probs, tags)
    assert [(s.label, s.start, s.end) for s in spans] == [("ORG", 0, 9), ("PER", 15, 24)]


def _decode_by_token_loop(word_ids, offsets, probs, tags):
    """The plain per-token loop the vectorised decoder replaced: the reference it must equal."""
    labels, scores = probs.argmax(-1), probs.max(-1)
    words, last = [], None
    for t, w in enumerate(word_ids):
        if w is None:
            continue
        if w != last:
            words.append([tags[int(labels[t])], float(scores[t]), offsets[t][0], offsets[t][1]])
            last = w
        else:
            words[-1][3] = offsets[t][1]
    spans, cur = [], None
    for tag, score, start, end in words:
        if not tag.type:
            if cur:
                spans.append(cur)
            cur = None
            continue
        if cur is not None and cur[0] == tag.type and tag.prefix in ("I", "E", ""):
            cur[2] = end
            cur[3].append(score)
        else:
            if cur:
                spans.append(cur)
            cur = [tag.type, start, end, [score]]
        if tag.prefix in ("E", "S"):
            spans.append(cur)
            cur = None
    if cur:
        spans.append(cur)
    return [(c[0], c[1], c[2], float(np.mean(c[3]))) for c in spans]


@pytest.mark.parametrize("seed", range(40))
def test_vectorised_decoding_equals_the_token_loop(seed):
    rng = np.random.default_rng(seed)
    names = [["O", "B-ORG", "I-ORG", "B-PER", "I-PER"], ["O", "B-ORG", "I-ORG", "E-ORG", "S-ORG"],
             ["O", "ORG", "PER"]][seed % 3]
    tags = [parse_tag(x) for x in names]
    n = int(rng.integers(0, 60))
    word_ids, w = [], -1
    for _ in range(n):  # words of 1-3 pieces, and now and then a token of no word
        if rng.random() < 0.1:
            word_ids.append(None)
            continue
        w += int(rng.random() < 0.6 or w < 0)
        word_ids.append(w)
    offsets = [(3 * i, 3 * i + 2) for i in range(n)]
    probs = rng.dirichlet(np.full(len(tags), 0.3), size=n).astype(np.float32)
    got = [(m.label, m.start, m.end, m.score) for m in decode_spans(word_ids, offsets, probs, tags)]
    assert got == _decode_by_token_loop(word_ids, offsets, probs, tags)


def test_special_frame_is_read_off_the_tokenizer(tiny_models):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_models["ner"])
    assert special_frame(tok) == ([tok.cls_token_id], [tok.sep_token_id])


def _long_body(words: int, tail: str) -> str:
    filler = "the market rose and analysts said prices fell after the report".split()
    paras = []
    for p in range(words // 60):
        paras.append(" ".join(filler[(p + i) % len(filler)] for i in range(60)) + ".")
    return "\n\n".join([*paras, tail])


def test_a_company_named_only_in_the_last_paragraph_is_found_at_its_article_offsets(tiny_models, spec_for):
    spec = spec_for("token-classification", tiny_models["rigged_ner"], max_length=32, options={"stride": 8})
    runner = load_runner(spec)
    body = _long_body(600, "In the final paragraph Acme Corp said profit rose. ACME CORP shares rose.")
    a = article(1, body)
    [out] = runner.run([a])
    text = f"{a.title}\n\n{a.body}"
    assert runner.engine.stats.sequences > 20  # hundreds of tokens through 30-token windows
    [company] = out["companies"]  # two mentions, one company
    assert company["label"] == "ORG" and company["mentions"] == 2
    assert text[company["start"]:company["end"]] == "Acme Corp"
    assert company["normalized"] == "Acme"
    assert company["start"] > len(text) - 80
    assert 0.9 < company["score"] <= 1.0


def test_windowed_spans_equal_one_window_at_a_time(tiny_models, spec_for):
    """A random model: the engine's batched windows give exactly the naive loop's spans."""
    spec = spec_for("token-classification", tiny_models["ner"], max_length=24, options={"stride": 6},
                    batch_tokens=300)
    runner = load_runner(spec)
    rng = np.random.default_rng(1)
    from tests.inference.tinymodels import WORDS

    texts = [" ".join(rng.choice(WORDS, size=int(n))) for n in rng.integers(3, 120, size=25)]
    batched = runner.spans(texts)

    model, tok = runner.engine.model, runner.tokenizer
    naive = []
    for text in texts:
        enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
        ids = enc["input_ids"]
        starts = window_starts(len(ids), runner.window, runner.stride)
        rows = []
        with torch.no_grad():
            for s in starts:
                x = torch.tensor([[*runner.prefix, *ids[s:s + runner.window], *runner.suffix]])
                p = torch.softmax(model(input_ids=x).logits[0], -1).numpy()
                rows.append(p[runner.lead:runner.lead + min(runner.window, len(ids) - s)])
        probs = best_context(len(ids), runner.window, starts, rows)
        naive.append(decode_spans(enc.word_ids(), enc["offset_mapping"], probs, runner.tags))
    key = [[(m.label, m.start, m.end) for m in spans] for spans in naive]
    assert [[(m.label, m.start, m.end) for m in spans] for spans in batched] == key  # type: ignore[union-attr]
    assert sum(map(len, key)) > 10  # the comparison is not vacuous


def test_articles_of_other_languages_are_skipped_not_failed(tiny_models, spec_for):
    spec = spec_for("token-classification", tiny_models["rigged_ner"], languages=["en"])
    out = load_runner(spec).run([article(1, "acme corp rose", language="de")])
    assert out[0]["companies"] == [] and "not handled" in out[0]["skipped"]


def test_bf16_spans_equal_fp32_spans_thanks_to_the_precision_guard(tiny_models, spec_for, monkeypatch):
    from tests.inference.tinymodels import WORDS

    rng = np.random.default_rng(2)
    texts = [" ".join(rng.choice(WORDS, size=int(n))) for n in rng.integers(3, 150, size=20)]
    spec = spec_for("token-classification", tiny_models["ner"], max_length=24, options={"stride": 6})
    exact = load_runner(spec).spans(texts)
    monkeypatch.setenv("NEWSOPS_PRECISION", "bf16")
    guarded = load_runner(spec)
    assert guarded.placement.precision == "bf16" and guarded.guard > 0
    got = guarded.spans(texts)
    assert guarded.guard_reruns > 0  # a random head is unsure often: those windows ran in fp32

    def key(spans):
        return [[(m.label, m.start, m.end) for m in s] for s in spans]

    assert key(got) == key(exact)
