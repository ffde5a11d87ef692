"""Decoding tag scores into spans: only valid BIO sequences come out."""

from __future__ import annotations

import torch
from newsops_batch.charner.decode import spans_of, tag_set, viterbi
from newsops_batch.spaneval import Span

TAGS = tag_set(["法人名", "人名"])  # O, B-人名, I-人名, B-法人名, I-法人名


def scores(rows: list[dict[str, float]], length: int | None = None) -> torch.Tensor:
    out = torch.full((1, length or len(rows), len(TAGS)), -10.0)
    for i, row in enumerate(rows):
        for tag, value in row.items():
            out[0, i, TAGS.index(tag)] = value
    return out


def test_an_inside_tag_never_starts_a_span_or_switches_type() -> None:
    # Greedy argmax would read: I-法人名 I-法人名 O B-人名 I-法人名.
    s = scores([{"I-法人名": 0.0, "B-法人名": -0.5}, {"I-法人名": 0.0}, {"O": 0.0},
                {"B-人名": 0.0}, {"I-法人名": 0.0, "I-人名": -0.3}])
    [path] = viterbi(s, torch.tensor([5]), TAGS)
    assert [TAGS[t] for t in path] == ["B-法人名", "I-法人名", "O", "B-人名", "I-人名"]
    assert spans_of(path, TAGS, offset=10) == [Span(10, 12, "法人名"), Span(13, 15, "人名")]


def test_padding_past_a_texts_length_changes_nothing() -> None:
    rows = [{"B-法人名": 0.0}, {"I-法人名": 0.0}, {"O": 0.0}]
    short = viterbi(scores(rows), torch.tensor([3]), TAGS)
    padded = scores(rows, length=6)
    padded[0, 3:, TAGS.index("I-人名")] = 5.0  # garbage in the padding
    assert viterbi(padded, torch.tensor([3]), TAGS) == short
    assert len(short[0]) == 3
