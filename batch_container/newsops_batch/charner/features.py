"""What the character tagger sees of each character of a text.

Characters, not tokens, are tagged because a Japanese name need not end where the tokenizer
cuts: GM株 is one SudachiPy token, but the company is GM. Each character carries

- ``char``, ``left``, ``right``: the character (NFKC-folded) and its two bigrams, hashed into
  ``buckets`` rows (crc32: the same ids in every process, unlike Python's salted ``hash``);
- ``script``: kanji, hiragana, katakana, Latin upper/lower, digit, space or other;
- ``place``: where it sits in its SudachiPy token (begin, inside, end, single);
- ``pos``: that token's SudachiPy part of speech (名詞-固有名詞-地名-一般 …), from a vocabulary
  fixed at training;
- ``vector``: the row of that token's pretrained GiNZA word vector (last row: none);
- ``entity`` (when the model was trained with it): GiNZA's extended named-entity label over
  the character, hashed. It costs GiNZA's tok2vec and NER at run time.

Only the tokenizer and the vector table of the base pipeline are needed without ``entity``.
"""

from __future__ import annotations

import hashlib
import unicodedata
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

FEATURES = ("char", "left", "right", "script", "place", "pos", "vector", "entity")
SCRIPTS = 9
PLACES = 4
UNKNOWN_POS = 1  # row 0 is padding
_B, _I, _E, _S = 0, 1, 2, 3


def script(c: str) -> int:
    o = ord(c)
    if 0x3040 <= o <= 0x309F:
        return 1
    if 0x30A0 <= o <= 0x30FF or c == "ー":
        return 2
    if 0x4E00 <= o <= 0x9FFF or c in "々〆ヶ":
        return 3
    if c.isdigit():
        return 4
    if c.isalpha():
        return 5 if c.isupper() else 6
    if c.isspace():
        return 7
    return 8


UNKNOWN_ID = 1  # what character dropout shows in training


def bucket(text: str, buckets: int) -> int:
    """Rows 0 (padding) and 1 (unknown) are reserved, so ids are 2..buckets-1."""
    return 2 + zlib.crc32(text.encode("utf-8")) % (buckets - 2)


def fold(c: str) -> str:
    """Full-width Ｇ and half-width G are one character to the model."""
    return unicodedata.normalize("NFKC", c)[:1] or c


@dataclass(frozen=True)
class Encoded:
    """One text's features: an int64 array of shape (len(text),) per feature name."""

    ids: dict[str, np.ndarray]

    @property
    def length(self) -> int:
        return int(self.ids["char"].shape[0])


class Featurizer:
    """Turns texts into :class:`Encoded` features with the base spaCy pipeline (GiNZA)."""

    def __init__(self, nlp: Any, *, buckets: int, entity_buckets: int, pos: Sequence[str],
                 entities: bool) -> None:
        self.nlp = nlp
        self.buckets = buckets
        self.entity_buckets = entity_buckets
        self.entities = entities
        self.pos_index = {p: i + 2 for i, p in enumerate(pos)}  # 0 padding, 1 unknown
        self.vector_rows = int(nlp.vocab.vectors.shape[0])

    def encode(self, texts: Iterable[str], batch_size: int = 64) -> list[Encoded]:
        texts = list(texts)
        if self.entities:
            docs = self.nlp.pipe(texts, batch_size=batch_size)
        else:
            docs = (self.nlp.make_doc(t) for t in texts)
        return [self._encode(t, d) for t, d in zip(texts, docs, strict=True)]

    def tags_of(self, texts: Iterable[str]) -> set[str]:
        """The part-of-speech tags the tokenizer gives these texts (the training vocabulary)."""
        return {tok.tag_ for t in texts for tok in self.nlp.make_doc(t)}

    def _encode(self, text: str, doc: Any) -> Encoded:
        n = len(text)
        chars = [fold(c) for c in text]
        place = np.full(n, _S, dtype=np.int64)
        pos = np.full(n, UNKNOWN_POS, dtype=np.int64)
        vector = np.full(n, self.vector_rows, dtype=np.int64)
        vectors = self.nlp.vocab.vectors
        for tok in doc:
            s = tok.idx
            e = s + len(tok.text)
            if e - s > 1:
                place[s] = _B
                place[s + 1:e - 1] = _I
                place[e - 1] = _E
            pos[s:e] = self.pos_index.get(tok.tag_, UNKNOWN_POS)
            row = vectors.find(key=tok.orth)
            if row >= 0:
                vector[s:e] = row
        b = self.buckets
        ids = {
            "char": np.fromiter((bucket("u" + c, b) for c in chars), np.int64, n),
            "left": np.fromiter((bucket("b" + (chars[i - 1] if i else "^") + chars[i], b)
                                 for i in range(n)), np.int64, n),
            "right": np.fromiter((bucket("b" + chars[i] + (chars[i + 1] if i + 1 < n else "$"), b)
                                  for i in range(n)), np.int64, n),
            "script": np.fromiter((script(c) for c in chars), np.int64, n),
            "place": place, "pos": pos, "vector": vector,
        }
        if self.entities:
            entity = np.zeros(n, dtype=np.int64)
            for ent in doc.ents:
                entity[ent.start_char] = bucket("B-" + ent.label_, self.entity_buckets)
                entity[ent.start_char + 1:ent.end_char] = bucket("I-" + ent.label_, self.entity_buckets)
            ids["entity"] = entity
        return Encoded(ids)


def vectors_sha256(nlp: Any) -> str:
    """Names the exact pretrained table a model was trained against (checked when loaded)."""
    data = np.ascontiguousarray(nlp.vocab.vectors.data, dtype=np.float32)
    return hashlib.sha256(data.tobytes()).hexdigest()


def load_base(name: str, *, entities: bool) -> Any:
    """The base pipeline: the tokenizer and vectors only, or with the tok2vec + NER it needs."""
    import spacy

    if entities:
        nlp = spacy.load(name)
        nlp.select_pipes(enable=[p for p in ("tok2vec", "ner") if p in nlp.pipe_names])
        return nlp
    nlp = spacy.load(name, exclude=["tok2vec", "parser", "ner", "morphologizer",
                                    "compound_splitter", "bunsetu_recognizer", "attribute_ruler"])
    return nlp
