"""Loading a Hugging Face model and its fast tokenizer from a local directory, offline."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from chalicelib.contract.schema import TaskSpec
from newsops_batch.errors import PermanentError
from newsops_batch.placement import Placement, choose_placement

log = logging.getLogger("newsops.batch.loading")


def load_pretrained(path: Path, model_class: Any) -> tuple[Any, Any]:
    """(fast tokenizer, model in eval mode). Only the fast tokenizers keep character offsets and
    tokenise a batch in Rust, which span mapping and the engine rely on."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = model_class.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise PermanentError(f"cannot load the model at {path}: {exc}") from exc
    if not getattr(tokenizer, "is_fast", False):
        raise PermanentError(f"the tokenizer at {path} is not a fast tokenizer (tokenizer.json missing?)")
    if tokenizer.pad_token_id is None:
        raise PermanentError(f"the tokenizer at {path} has no padding token")
    return tokenizer, model.eval()


def placement_for(spec: TaskSpec) -> Placement:
    opts = spec.options
    return choose_placement(precision=str(opts.get("precision", "auto")),
                            batch_tokens=spec.batch_tokens,
                            cpu_batch_tokens=opts.get("cpu_batch_tokens"))


def window_length(spec: TaskSpec, model: Any) -> int:
    """The task's max length, never past the model's position embeddings."""
    limit = getattr(model.config, "max_position_embeddings", None) or spec.max_length
    return min(spec.max_length, int(limit))


def load_task_model(spec: TaskSpec, context: Any, model_class: Any) -> tuple[str, Any, Any, Placement]:
    """What every HF-model task starts with: (model version, fast tokenizer, model, placement),
    with the model resolved through the job context (registry pin, verified cache)."""
    ref = context.model_ref(spec)
    tokenizer, model = load_pretrained(ref.local_dir(context.cache_root), model_class)
    return ref.version, tokenizer, model, placement_for(spec)
