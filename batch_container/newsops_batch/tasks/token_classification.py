"""Entity spans from any Hugging Face BERT-family token classifier (the company-name model).

Each article is tokenised once, whole (offsets and word ids kept); long articles are covered by
overlapping windows (``options.stride`` tokens of overlap) that the engine batches with every
other article's windows. Each token takes the prediction of the window where it has the most
context; a word takes its first sub-token's label; BIO (or plain) tags become character spans
of the article, which are normalised and de-duplicated per company.

Precision guard: under bf16 autocast a token whose two best labels are within
``options.guard_logits`` (default 0.3) of each other could flip against fp32 (MiniLM-L6's bf16
logits differ from fp32 by at most ~0.16 here); every window where such a token decides a word
(a word's first sub-token, in the part of the window whose prediction is used) is computed again
in fp32, so the spans equal an fp32 run's while confident windows keep bf16's speed.
``guard_logits: 0`` turns it off.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from chalicelib.contract.schema import Article, TaskSpec
from newsops_batch.companynames import Mention, merge_mentions
from newsops_batch.engine import Engine, growing_slices, softmax_logits
from newsops_batch.errors import PermanentError
from newsops_batch.loading import load_task_model, window_length
from newsops_batch.tasks import JobContext, article_text, handles, language_note, skip_reason
from newsops_batch.windows import best_context, owners, window_starts

log = logging.getLogger("newsops.batch.token_classification")


@dataclass
class _Text:
    """One article's whole tokenisation and where its windows sit among the engine's items."""

    offsets: list[tuple[int, int]]
    word_ids: list[int | None]
    starts: list[int]
    first_item: int


@dataclass(frozen=True)
class Tag:
    prefix: str  # "B", "I", "E", "S", or "" for a plain label
    type: str  # "" for outside


def parse_tag(label: str) -> Tag:
    if label in ("O", "", "OUTSIDE"):
        return Tag("", "")
    head, sep, rest = label.partition("-")
    if sep and head.upper() in ("B", "I", "E", "S", "L", "U"):
        return Tag({"L": "E", "U": "S"}.get(head.upper(), head.upper()), rest)
    return Tag("", label)


def _words(word_ids: Sequence[int | None]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(first sub-token, last sub-token) per word as token indices, and the first-token mask.

    Tokens without a word (special tokens) belong to no word and do not split a word's pieces.
    """
    wid = np.fromiter((-1 if w is None else w for w in word_ids), dtype=np.int64, count=len(word_ids))
    real = np.flatnonzero(wid >= 0)
    first = np.zeros(len(wid), dtype=bool)
    if not real.size:
        return real, real, first
    w = wid[real]
    starts = np.flatnonzero(np.r_[True, w[1:] != w[:-1]])
    heads = real[starts]
    tails = np.r_[real[starts[1:] - 1], real[-1]]
    first[heads] = True
    return heads, tails, first


def first_subtokens(word_ids: Sequence[int | None]) -> np.ndarray:
    """Per token, whether it is its word's first sub-token (the one whose label decides the word)."""
    return _words(word_ids)[2]


def decode_spans(word_ids: Sequence[int | None], offsets: Sequence[tuple[int, int]],
                 probs: np.ndarray, tags: Sequence[Tag]) -> list[Mention]:
    """Word-level BIO decoding (first sub-token decides the word) into character spans.

    Vectorised over words (on a GPU the host decodes every token of every window, and a loop
    per token was its largest cost); the loop visits only the words tagged as an entity.
    """
    heads, tails, _ = _words(word_ids)
    if not heads.size:
        return []
    labels = probs[heads].argmax(-1)
    scores = probs[heads].max(-1).astype(np.float64)
    outside = np.fromiter((not t.type for t in tags), dtype=bool, count=len(tags))
    entity = np.flatnonzero(~outside[labels])
    spans: list[Mention] = []
    current: list[Any] | None = None  # [type, start, end, first word, last word]
    previous = -2

    def close() -> None:
        nonlocal current
        if current is not None:
            spans.append(Mention(name="", label=current[0], start=current[1], end=current[2],
                                 score=float(np.mean(scores[current[3]:current[4] + 1]))))
            current = None

    for k, label, head, tail in zip(entity.tolist(), labels[entity].tolist(), heads[entity].tolist(),
                                    tails[entity].tolist(), strict=True):
        if k != previous + 1:
            close()  # an outside word came between
        previous = k
        tag = tags[label]
        end = offsets[tail][1]
        if current is not None and current[0] == tag.type and tag.prefix in ("I", "E", ""):
            current[2], current[4] = end, k
        else:
            close()
            current = [tag.type, offsets[head][0], end, k, k]
        if tag.prefix in ("E", "S"):
            close()
    close()
    return spans


def special_frame(tokenizer: Any) -> tuple[list[int], list[int]]:
    """The special tokens a single sequence gets before and after its content ([CLS] … [SEP]
    for BERT, <s> … </s> for RoBERTa), read off the tokenizer's own post-processing."""
    framed = tokenizer("x", add_special_tokens=True)["input_ids"]
    bare = tokenizer("x", add_special_tokens=False)["input_ids"]
    for pos in range(len(framed) - len(bare) + 1):
        if framed[pos:pos + len(bare)] == bare:
            return framed[:pos], framed[pos + len(bare):]
    raise PermanentError("cannot locate the content among the tokenizer's special tokens")


class TokenClassificationRunner:
    def __init__(self, spec: TaskSpec, context: JobContext | None = None) -> None:
        from transformers import AutoModelForTokenClassification

        context = context or JobContext()
        self.spec = spec
        self.model_version, self.tokenizer, model, self.placement = load_task_model(
            spec, context, AutoModelForTokenClassification)
        id2label = {int(k): str(v) for k, v in model.config.id2label.items()}
        self.tags = [parse_tag(id2label[i]) for i in range(len(id2label))]
        wanted = spec.options.get("labels")
        self.labels: set[str] | None = set(wanted) if wanted else None
        self.min_score = float(spec.options.get("min_score", 0.0))
        self.prefix, self.suffix = special_frame(self.tokenizer)
        self.window = window_length(spec, model) - len(self.prefix) - len(self.suffix)
        if self.window < 8:
            raise PermanentError(f"max_length {spec.max_length} leaves no room for tokens in a window")
        self.stride = int(spec.options.get("stride", self.window // 4))
        if not 0 <= self.stride < self.window:
            raise PermanentError(f"stride {self.stride} must be >= 0 and < the window ({self.window})")
        self.engine = Engine(model, self.placement, pad_token_id=self.tokenizer.pad_token_id,
                             head=softmax_logits, per_token=True)
        self.guard = float(spec.options.get("guard_logits", 0.3)) if self.placement.amp_dtype else 0.0
        self.exact = Engine(model, replace(self.placement, amp_dtype=None),
                            pad_token_id=self.tokenizer.pad_token_id, head=softmax_logits,
                            per_token=True) if self.guard > 0 else None
        self.guard_reruns = 0
        self.lead = len(self.prefix)
        log.info("token classifier %s: window %d, stride %d, labels %s, on %s", self.model_version,
                 self.window, self.stride, sorted({t.type for t in self.tags if t.type}),
                 self.placement.describe())

    def spans(self, texts: Sequence[str]) -> list[list[Mention] | Exception]:
        """Entity mentions per text (article character offsets), before de-duplication."""
        records: list[_Text] = []

        def slices() -> Iterator[list[list[int]]]:
            items = 0
            for _, part in growing_slices(texts):
                enc = self.tokenizer(list(part), add_special_tokens=False, truncation=False,
                                     return_offsets_mapping=True, return_attention_mask=False,
                                     return_token_type_ids=False, verbose=False)
                seqs: list[list[int]] = []
                for k, ids in enumerate(enc["input_ids"]):
                    starts = window_starts(len(ids), self.window, self.stride)
                    records.append(_Text(enc["offset_mapping"][k], enc.word_ids(k), starts, items))
                    for s in starts:
                        seqs.append([*self.prefix, *ids[s:s + self.window], *self.suffix])
                    items += len(starts)
                yield seqs

        seqs_seen: list[list[int]] = []

        def kept(gen: Iterator[list[list[int]]]) -> Iterator[list[list[int]]]:
            for part in gen:
                seqs_seen.extend(part)
                yield part

        outputs = self.engine.stream(kept(slices()))
        if self.exact is not None:
            self._guard(outputs, seqs_seen, records)
        result: list[list[Mention] | Exception] = []
        for text, rec in zip(texts, records, strict=True):
            n = len(rec.offsets)
            window_out = outputs[rec.first_item:rec.first_item + len(rec.starts)]
            failed = next((o for o in window_out if isinstance(o, Exception)), None)
            if failed is not None:
                result.append(failed)
                continue
            if n == 0:
                result.append([])
                continue
            rows = [o[self.lead:self.lead + min(self.window, n - s)]  # type: ignore[index]
                    for o, s in zip(window_out, rec.starts, strict=True)]
            probs = best_context(n, self.window, rec.starts, rows)
            mentions = decode_spans(rec.word_ids, rec.offsets, probs, self.tags)
            for m in mentions:
                m.name = text[m.start:m.end]
            result.append(mentions)
        return result

    def _guard(self, outputs: list[np.ndarray | Exception], seqs: list[list[int]],
               records: list[_Text]) -> None:
        """Recompute in fp32 the windows where a deciding token's two best labels are close."""
        redo: list[int] = []
        for rec in records:
            n = len(rec.offsets)
            if n == 0:
                continue
            lengths = [min(self.window, n - s) for s in rec.starts]
            owner = owners(n, rec.starts, lengths)
            first = first_subtokens(rec.word_ids)
            for k, (start, length) in enumerate(zip(rec.starts, lengths, strict=True)):
                probs = outputs[rec.first_item + k]
                if isinstance(probs, Exception):
                    continue
                rows = probs[self.lead:self.lead + length]
                deciding = (owner[start:start + length] == k) & first[start:start + length]
                if not deciding.any():
                    continue
                top2 = np.log(np.maximum(np.sort(rows[deciding], axis=-1)[:, -2:], 1e-30))
                if float((top2[:, 1] - top2[:, 0]).min()) < self.guard:
                    redo.append(rec.first_item + k)
        if redo:
            assert self.exact is not None
            for k, out in zip(redo, self.exact.run([seqs[k] for k in redo]), strict=True):
                outputs[k] = out
        self.guard_reruns += len(redo)
        log.debug("precision guard: %d of %d windows recomputed in fp32", len(redo), len(outputs))

    def run(self, articles: Sequence[Article]) -> list[dict[str, Any] | Exception]:
        todo = [i for i, a in enumerate(articles) if handles(self.spec, a)]
        found = self.spans([article_text(articles[i]) for i in todo])
        out: list[dict[str, Any] | Exception] = [
            {"companies": [], "skipped": skip_reason(self.spec, a),
             "model_version": self.model_version} for a in articles]
        for i, mentions in zip(todo, found, strict=True):
            if isinstance(mentions, Exception):
                out[i] = mentions
                continue
            kept = [m for m in mentions if (self.labels is None or m.label in self.labels)
                    and m.score >= self.min_score]
            out[i] = {"companies": merge_mentions(kept), "model_version": self.model_version,
                      **language_note(self.spec, articles[i])}
        return out
