"""A trained character tagger on disk: what the registry stores and the batch job loads.

::

    config.json          TaggerConfig: tags, part-of-speech vocabulary, base pipeline, sizes
    weights.safetensors  the trained weights (the frozen GiNZA vector table is not copied:
                         it is the base pipeline's, checked by sha256 when loaded)
    MODEL_CARD.json      what it was trained on and how well it did (written by training)
"""

from __future__ import annotations

import importlib.metadata
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from newsops_batch.charner.features import Featurizer, derived_tables, load_base, vectors_sha256
from newsops_batch.charner.network import CharTagger, TaggerConfig
from newsops_batch.errors import PermanentError

CONFIG = "config.json"
WEIGHTS = "weights.safetensors"
CARD = "MODEL_CARD.json"
# Frozen tables rebuilt from the base pipeline at load time: never copied into the model files.
_FROZEN = ("vectors.weight", "charvec.weight", "pairvec.weight")


@dataclass
class LoadedTagger:
    config: TaggerConfig
    model: CharTagger
    featurizer: Featurizer
    device: torch.device


def base_version(name: str) -> str:
    try:
        return importlib.metadata.version(name.replace("_", "-"))
    except importlib.metadata.PackageNotFoundError:
        return ""


def build_model(config: TaggerConfig, nlp: Any) -> CharTagger:
    """A tagger of this config with the base pipeline's frozen tables in place."""
    derived = None
    if config.derived_dim:
        _, _, chars, pairs = derived_tables(nlp)
        derived = (torch.from_numpy(chars), torch.from_numpy(pairs))
    return CharTagger(config, torch.as_tensor(nlp.vocab.vectors.data), derived)


def save(directory: Path, model: CharTagger, card: dict[str, Any] | None = None) -> None:
    from safetensors.torch import save_file

    directory.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items() if k not in _FROZEN}
    save_file(state, str(directory / WEIGHTS))
    (directory / CONFIG).write_text(json.dumps(model.config.to_json(), ensure_ascii=False, indent=2))
    if card is not None:
        (directory / CARD).write_text(json.dumps(card, ensure_ascii=False, indent=2))


def read_config(directory: Path) -> TaggerConfig:
    try:
        data = json.loads((directory / CONFIG).read_text())
    except (OSError, ValueError) as exc:
        raise PermanentError(f"no character tagger at {directory}: {exc}") from None
    if data.get("kind") != "char-ner":
        raise PermanentError(f"{directory / CONFIG} is not a char-ner model (kind {data.get('kind')!r})")
    return TaggerConfig.from_json(data)


def load(directory: Path, device: str | torch.device | None = None, nlp: Any = None) -> LoadedTagger:
    """The tagger in eval mode on ``device`` (default: a GPU when there is one)."""
    from safetensors.torch import load_file

    config = read_config(directory)
    nlp = nlp or load_base(config.base_model, entities=config.entities, context=config.context)
    if config.vectors_sha256 and vectors_sha256(nlp) != config.vectors_sha256:
        raise PermanentError(
            f"the model at {directory} was trained on other {config.base_model} vectors "
            f"({config.base_model} {config.base_version} expected, {base_version(config.base_model)} installed)")
    model = build_model(config, nlp)
    try:
        state = load_file(str(directory / WEIGHTS))
    except (OSError, ValueError) as exc:
        raise PermanentError(f"cannot read {directory / WEIGHTS}: {exc}") from None
    for name, tensor in model.state_dict().items():
        if name in _FROZEN:
            state[name] = tensor
    missing = model.load_state_dict(state, strict=False)
    if missing.missing_keys or missing.unexpected_keys:
        raise PermanentError(f"{directory / WEIGHTS} does not fit its config: missing "
                             f"{missing.missing_keys}, unexpected {missing.unexpected_keys}")
    dev = torch.device(device) if device is not None else torch.device(
        "cuda" if torch.cuda.is_available() else "cpu")
    model.to(dev).eval()
    featurizer = Featurizer(nlp, buckets=config.buckets, entity_buckets=config.entity_buckets,
                            pos=config.pos, entities=config.entities, context=config.context)
    return LoadedTagger(config=config, model=model, featurizer=featurizer, device=dev)
