"""From per-character tag scores to spans: BIO tags, decoded under their grammar.

Greedy argmax can emit ``I-法人名`` after ``O`` or after ``B-人名``, a span with no start or with
two types. Viterbi over the log-probabilities with those transitions forbidden returns the best
tag sequence that is a valid set of spans. It runs on the whole batch at once, on the device
the scores are on.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from newsops_batch.spaneval import Span

OUTSIDE = "O"


def tag_set(types: Sequence[str]) -> tuple[str, ...]:
    return (OUTSIDE, *(f"{p}-{t}" for t in sorted(types) for p in ("B", "I")))


def allowed_transitions(tags: Sequence[str]) -> torch.Tensor:
    """(previous, next) -> 0 where allowed, -inf where I-X would not continue a span of X."""
    n = len(tags)
    out = torch.zeros(n, n)
    for j, nxt in enumerate(tags):
        if not nxt.startswith("I-"):
            continue
        for i, prev in enumerate(tags):
            if prev == OUTSIDE or prev[2:] != nxt[2:]:
                out[i, j] = float("-inf")
    return out


def viterbi(scores: torch.Tensor, lengths: torch.Tensor, tags: Sequence[str]) -> list[list[int]]:
    """Best valid tag ids per text; ``scores`` is (batch, length, tags) of log-probabilities."""
    batch, length, n = scores.shape
    trans = allowed_transitions(tags).to(scores.device)
    start = torch.tensor([float("-inf") if t.startswith("I-") else 0.0 for t in tags],
                         device=scores.device)
    best = scores[:, 0] + start
    back = torch.zeros(batch, length, n, dtype=torch.long, device=scores.device)
    for i in range(1, length):
        cand = best.unsqueeze(2) + trans  # (batch, prev, next)
        value, arg = cand.max(dim=1)
        live = (i < lengths).to(scores.device).unsqueeze(1)
        best = torch.where(live, value + scores[:, i], best)
        back[:, i] = arg
    last = best.argmax(dim=1).tolist()
    back_cpu = back.cpu()
    out: list[list[int]] = []
    for b in range(batch):
        m = int(lengths[b])
        path = [last[b]]
        for i in range(m - 1, 0, -1):
            path.append(int(back_cpu[b, i, path[-1]]))
        out.append(path[::-1])
    return out


def spans_of(tag_ids: Sequence[int], tags: Sequence[str], offset: int = 0) -> list[Span]:
    out: list[Span] = []
    start = -1
    kind = ""
    for i, tid in enumerate([*tag_ids, 0]):
        tag = tags[tid]
        if start >= 0 and not (tag.startswith("I-") and tag[2:] == kind):
            out.append(Span(offset + start, offset + i, kind))
            start = -1
        if tag.startswith("B-"):
            start, kind = i, tag[2:]
    return out
