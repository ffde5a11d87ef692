"""The character tagger: feature embeddings, a bidirectional LSTM, one tag score per character.

Small on purpose (about a million trained weights besides the hashed embeddings): it trains in
minutes on two CPU cores and runs on a GPU unchanged. The pretrained GiNZA vectors are a frozen
table that the model projects, so words never seen in training still carry meaning.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from newsops_batch.charner.features import CONTEXT_WIDTH, PLACES, SCRIPTS


@dataclass(frozen=True)
class TaggerConfig:
    """Everything needed to rebuild the network and its features (saved as config.json)."""

    tags: tuple[str, ...]
    pos: tuple[str, ...]
    base_model: str = "ja_ginza"
    base_version: str = ""
    vectors_sha256: str = ""
    entities: bool = False
    context: bool = False  # GiNZA's tok2vec vectors as a feature
    context_dim: int = 64
    buckets: int = 1 << 15
    entity_buckets: int = 4096
    char_dim: int = 64
    bigram_dim: int = 32
    pos_dim: int = 16
    vector_dim: int = 64
    entity_dim: int = 16
    derived_dim: int = 32  # charvec / pairvec projections; 0: not used
    hidden: int = 128
    layers: int = 1
    dropout: float = 0.3
    kind: str = "char-ner"
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TaggerConfig:
        data = dict(data)
        data["tags"] = tuple(data["tags"])
        data["pos"] = tuple(data["pos"])
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


class CharTagger(nn.Module):
    def __init__(self, config: TaggerConfig, vectors: torch.Tensor,
                 derived: tuple[torch.Tensor, torch.Tensor] | None = None) -> None:
        super().__init__()
        self.config = config
        c = config
        self.char = nn.Embedding(c.buckets, c.char_dim, padding_idx=0)
        self.left = nn.Embedding(c.buckets, c.bigram_dim, padding_idx=0)
        self.right = nn.Embedding(c.buckets, c.bigram_dim, padding_idx=0)
        self.script = nn.Embedding(SCRIPTS, 8)
        self.place = nn.Embedding(PLACES, 8)
        self.pos = nn.Embedding(len(c.pos) + 2, c.pos_dim, padding_idx=0)
        # One zero row past the table: characters whose token has no vector.
        table = torch.cat([vectors.float(), torch.zeros(1, vectors.shape[1])])
        self.vectors = nn.Embedding.from_pretrained(table, freeze=True)
        self.project = nn.Linear(vectors.shape[1], c.vector_dim)
        width = c.char_dim + 2 * c.bigram_dim + 16 + c.pos_dim + c.vector_dim
        if c.derived_dim:
            if derived is None:
                raise ValueError("this tagger uses the derived character tables: pass them")
            self.charvec = nn.Embedding.from_pretrained(derived[0].float(), freeze=True)
            self.pairvec = nn.Embedding.from_pretrained(derived[1].float(), freeze=True)
            self.charvec_project = nn.Linear(derived[0].shape[1], c.derived_dim)
            self.pairvec_project = nn.Linear(derived[1].shape[1], c.derived_dim)
            width += 2 * c.derived_dim
        if c.context:
            self.context_project = nn.Linear(CONTEXT_WIDTH, c.context_dim)
            width += c.context_dim
        if c.entities:
            self.entity = nn.Embedding(c.entity_buckets, c.entity_dim, padding_idx=0)
            width += c.entity_dim
        self.dropout = nn.Dropout(c.dropout)
        self.lstm = nn.LSTM(width, c.hidden, num_layers=c.layers, bidirectional=True,
                            batch_first=True, dropout=c.dropout if c.layers > 1 else 0.0)
        self.out = nn.Linear(2 * c.hidden, len(c.tags))

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """(batch, length, tags) scores; ``batch["length"]`` holds each text's length."""
        parts = [self.char(batch["char"]), self.left(batch["left"]), self.right(batch["right"]),
                 self.script(batch["script"]), self.place(batch["place"]), self.pos(batch["pos"]),
                 self.project(self.vectors(batch["vector"]))]
        if self.config.derived_dim:
            parts.append(self.charvec_project(self.charvec(batch["charvec"])))
            parts.append(self.pairvec_project(self.pairvec(batch["pairvec"])))
        if self.config.context:
            parts.append(self.context_project(batch["context"]))
        if self.config.entities:
            parts.append(self.entity(batch["entity"]))
        x = self.dropout(torch.cat(parts, dim=-1))
        lengths = batch["length"].cpu()
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        return self.out(self.dropout(out))

    def trained_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]
