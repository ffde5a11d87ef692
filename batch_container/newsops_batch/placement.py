"""Where and in what precision a model runs: CUDA with bf16/fp16 AMP, or the CPU, bf16 if it can.

One decision per process, overridable per task (``options.precision``) or by environment
(``NEWSOPS_DEVICE``, ``NEWSOPS_PRECISION``, ``NEWSOPS_CPU_BATCH_TOKENS``) for benchmarks and tests.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import torch

log = logging.getLogger("newsops.batch.placement")

Precision = Literal["auto", "fp32", "bf16", "fp16"]
_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": None}
# On the CPU, activations of a large batch fall out of the caches and attention's memory grows
# with the square of the length: measured here, budgets of a few thousand tokens are fastest.
DEFAULT_CPU_BATCH_TOKENS = 4096


@dataclass(frozen=True)
class Placement:
    device: torch.device
    amp_dtype: torch.dtype | None  # None: plain fp32
    batch_tokens: int

    @property
    def cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def precision(self) -> str:
        return {torch.bfloat16: "bf16", torch.float16: "fp16", None: "fp32"}[self.amp_dtype]

    def autocast(self) -> contextlib.AbstractContextManager[object]:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def describe(self) -> str:
        name = torch.cuda.get_device_name(self.device) if self.cuda else "cpu"
        return (f"{name} ({self.device}), {self.precision}, batch budget {self.batch_tokens} tokens, "
                f"{torch.get_num_threads()} torch threads")


@lru_cache(maxsize=1)
def cpu_supports_bf16() -> bool:
    """Native bf16 dot products (AVX512-BF16 or AMX): there bf16 autocast pays off on the CPU.

    Without them oneDNN emulates bf16 and is slower than fp32, so the answer must be exact.
    """
    try:
        flags = open("/proc/cpuinfo").read()  # noqa: SIM115 - tiny, read once
    except OSError:
        flags = ""
    native = any(f in flags for f in (" avx512_bf16", " amx_bf16"))
    checker = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    try:
        supported = bool(checker()) if checker is not None else True
    except RuntimeError:
        supported = False
    return native and supported and torch.backends.mkldnn.is_available()


def set_tokenizer_parallelism(dev: torch.device) -> str:
    """Whether the fast tokenizer's Rust threads may use every core, unless the environment says.

    On a GPU the host must tokenise as fast as the card computes, and one core does not: the
    H100 benchmark ran MiniLM and BERT-base at the same ~185k tokens/s, the rate one core
    tokenises at. On the CPU the cores belong to torch's threads; tokenisation is a few percent
    of the work there and competing for the cores would slow the model down.
    """
    return os.environ.setdefault("TOKENIZERS_PARALLELISM", "true" if dev.type == "cuda" else "false")


def choose_placement(*, precision: str = "auto", batch_tokens: int = 16_384,
                     cpu_batch_tokens: int | None = None, device: str | None = None) -> Placement:
    device = device or os.environ.get("NEWSOPS_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")
    precision = os.environ.get("NEWSOPS_PRECISION") or precision
    if precision not in ("auto", *_DTYPES):
        raise ValueError(f"precision must be auto, fp32, bf16 or fp16, got {precision!r}")
    dev = torch.device(device)
    set_tokenizer_parallelism(dev)
    if dev.type == "cuda":
        if precision == "auto":
            precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        budget = batch_tokens
    else:
        if precision == "auto":
            precision = "bf16" if cpu_supports_bf16() else "fp32"
        if precision == "fp16":
            precision = "fp32"  # CPU fp16 autocast is slower than fp32 everywhere we run
        env_budget = os.environ.get("NEWSOPS_CPU_BATCH_TOKENS")
        budget = min(batch_tokens, int(env_budget or cpu_batch_tokens or DEFAULT_CPU_BATCH_TOKENS))
    return Placement(device=dev, amp_dtype=_DTYPES[precision], batch_tokens=max(budget, 8))
