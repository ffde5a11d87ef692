"""Padding texts of similar length together, for training and for inference alike."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from newsops_batch.charner.features import Encoded

IGNORE = -100  # the loss skips padded characters


def collate(items: Sequence[Encoded], labels: Sequence[np.ndarray] | None = None,
            device: torch.device | None = None) -> dict[str, torch.Tensor]:
    """One tensor (batch, longest) per feature, zero-padded, plus ``length`` (and ``y``)."""
    width = max(e.length for e in items)
    out: dict[str, torch.Tensor] = {}
    for name in items[0].ids:
        block = np.zeros((len(items), width), dtype=np.int64)
        for row, e in enumerate(items):
            block[row, :e.length] = e.ids[name]
        out[name] = torch.from_numpy(block)
    for name in items[0].floats:
        dense = np.zeros((len(items), width, items[0].floats[name].shape[1]), dtype=np.float32)
        for row, e in enumerate(items):
            dense[row, :e.length] = e.floats[name]
        out[name] = torch.from_numpy(dense)
    out["length"] = torch.tensor([e.length for e in items], dtype=torch.long)
    if labels is not None:
        y = np.full((len(items), width), IGNORE, dtype=np.int64)
        for row, lab in enumerate(labels):
            y[row, :len(lab)] = lab
        out["y"] = torch.from_numpy(y)
    if device is not None and device.type != "cpu":
        out = {k: v.to(device, non_blocking=True) for k, v in out.items()}
    return out


def by_length(lengths: Sequence[int], max_chars: int, max_texts: int) -> list[list[int]]:
    """Indices grouped so that a group's padded size (texts x longest) stays within
    ``max_chars``: sorting by length first keeps padding small."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    groups: list[list[int]] = []
    current: list[int] = []
    for i in order:
        longest = max(lengths[i], 1)
        if current and ((len(current) + 1) * longest > max_chars or len(current) >= max_texts):
            groups.append(current)
            current = []
        current.append(i)
    if current:
        groups.append(current)
    return groups
