"""Running a loaded tagger over texts: features, length-sorted batches, decoding."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch

from newsops_batch.charner.artifact import LoadedTagger
from newsops_batch.charner.batching import by_length, collate
from newsops_batch.charner.decode import spans_of, viterbi
from newsops_batch.charner.features import Encoded
from newsops_batch.spaneval import Span

MAX_BATCH_CHARS = 16_384
MAX_BATCH_TEXTS = 256
# The tagger's GEMMs are small (hidden 128): a second CPU thread only adds synchronisation, and
# where another process holds a core the threads wait on each other (measured on the dev split
# beside a test run: 200 texts in 0.29 s on one thread, 0.77-0.82 s on two).
CPU_THREADS = int(os.environ.get("NEWSOPS_CHARNER_THREADS", "1"))


@contextmanager
def _threads(device: torch.device) -> Iterator[None]:
    if device.type != "cpu" or CPU_THREADS <= 0:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(CPU_THREADS)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def predict(tagger: LoadedTagger, texts: Sequence[str], *, max_chars: int = MAX_BATCH_CHARS) -> list[list[Span]]:
    """Typed spans per text, in input order. Empty texts give no spans."""
    keep = [i for i, t in enumerate(texts) if t]
    out: list[list[Span]] = [[] for _ in texts]
    if keep:
        found = predict_encoded(tagger, tagger.featurizer.encode([texts[i] for i in keep]), max_chars=max_chars)
        for i, spans in zip(keep, found, strict=True):
            out[i] = spans
    return out


def predict_encoded(tagger: LoadedTagger, encoded: Sequence[Encoded], *,
                    max_chars: int = MAX_BATCH_CHARS) -> list[list[Span]]:
    """Spans of texts already featurized (training scores its dev texts every epoch, and their
    features never change)."""
    out: list[list[Span]] = [[] for _ in encoded]
    tags = tagger.config.tags
    with torch.inference_mode(), _threads(tagger.device):
        for group in by_length([e.length for e in encoded], max_chars, MAX_BATCH_TEXTS):
            batch = collate([encoded[i] for i in group], device=tagger.device)
            scores = torch.log_softmax(tagger.model(batch).float(), dim=-1)
            for i, path in zip(group, viterbi(scores, batch["length"], tags), strict=True):
                out[i] = spans_of(path, tags)
    return out
