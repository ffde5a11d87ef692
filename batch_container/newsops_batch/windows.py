"""Overlapping windows over a long token sequence, and choosing each token's best window.

An article longer than the model's window is cut into windows of ``size`` tokens that overlap
by ``stride`` tokens; the last window ends at the last token, so nothing is left uncovered (a
company named only in the final paragraph is still seen). A token seen by several windows takes
the prediction of the window where it has the most context on both sides.
"""

from __future__ import annotations

import numpy as np


def window_starts(n_tokens: int, size: int, stride: int) -> list[int]:
    """Start offsets of windows of ``size`` over ``n_tokens``, overlapping by ``stride``."""
    if size <= 0:
        raise ValueError("window size must be positive")
    if n_tokens <= size:
        return [0]
    step = max(size - stride, 1)
    starts = list(range(0, n_tokens - size, step))
    starts.append(n_tokens - size)  # flush with the end: full context for the last tokens
    return starts


def best_context(n_tokens: int, size: int, starts: list[int], window_outputs: list[np.ndarray]) -> np.ndarray:
    """Per token, the row of the window in which it sits farthest from an edge.

    ``window_outputs[k]`` holds one row per token of window ``k`` (special tokens removed).
    """
    if not window_outputs:
        return np.zeros((0, 0), dtype=np.float32)
    width = window_outputs[0].shape[1]
    out = np.zeros((n_tokens, width), dtype=np.float32)
    best = np.full(n_tokens, -1, dtype=np.int64)
    for start, rows in zip(starts, window_outputs, strict=True):
        end = start + rows.shape[0]
        pos = np.arange(start, end)
        context = np.minimum(pos - start, end - 1 - pos)
        better = context > best[start:end]
        best[start:end] = np.where(better, context, best[start:end])
        out[start:end][better] = rows[better]
    return out


def owners(n_tokens: int, starts: list[int], lengths: list[int]) -> np.ndarray:
    """Per token, the index of the window whose prediction it takes (as ``best_context`` picks)."""
    owner = np.zeros(n_tokens, dtype=np.int64)
    best = np.full(n_tokens, -1, dtype=np.int64)
    for k, (start, length) in enumerate(zip(starts, lengths, strict=True)):
        end = start + length
        pos = np.arange(start, end)
        context = np.minimum(pos - start, end - 1 - pos)
        better = context > best[start:end]
        best[start:end] = np.where(better, context, best[start:end])
        owner[start:end] = np.where(better, k, owner[start:end])
    return owner
