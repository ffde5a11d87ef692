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
- ``charvec``, ``pairvec``: rows of two tables derived from the same vectors, the mean vector of
  the words that contain the character (and the character pair ending here). A kanji never seen
  in a training name still carries what the pretrained words say of it (社, 銀, 学 …), at the
  cost of a table lookup;
- ``context`` (a float feature, when the model was trained with it): the 256-wide vector
  GiNZA's pretrained tok2vec gives the token around the character: what GiNZA learnt from far
  more text than any labelled set here. It costs the tok2vec pass at run time (not the NER,
  parser or morphologizer: stock GiNZA runs all of them);
- ``entity`` (when the model was trained with it): GiNZA's extended named-entity label over
  the character, hashed. It costs GiNZA's tok2vec and NER at run time.

Only the tokenizer and the vector table of the base pipeline are needed without ``entity``.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
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
    floats: dict[str, np.ndarray] = field(default_factory=dict)  # (len(text), width) float16

    @property
    def length(self) -> int:
        return int(self.ids["char"].shape[0])


class Featurizer:
    """Turns texts into :class:`Encoded` features with the base spaCy pipeline (GiNZA)."""

    def __init__(self, nlp: Any, *, buckets: int, entity_buckets: int, pos: Sequence[str],
                 entities: bool, context: bool = False) -> None:
        self.nlp = nlp
        self.buckets = buckets
        self.entity_buckets = entity_buckets
        self.entities = entities
        self.context = context
        self.pos_index = {p: i + 2 for i, p in enumerate(pos)}  # 0 padding, 1 unknown
        self.vector_rows = int(nlp.vocab.vectors.shape[0])
        self.char_rows, self.pair_rows, self.char_table, self.pair_table = derived_tables(nlp)

    def encode(self, texts: Iterable[str], batch_size: int = 64) -> list[Encoded]:
        texts = list(texts)
        if self.entities or self.context:
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
            "charvec": np.fromiter((self.char_rows.get(c, len(self.char_rows)) for c in chars), np.int64, n),
            "pairvec": np.fromiter((self.pair_rows.get((chars[i - 1] if i else "") + chars[i], len(self.pair_rows))
                                    for i in range(n)), np.int64, n),
        }
        if self.entities:
            entity = np.zeros(n, dtype=np.int64)
            for ent in doc.ents:
                entity[ent.start_char] = bucket("B-" + ent.label_, self.entity_buckets)
                entity[ent.start_char + 1:ent.end_char] = bucket("I-" + ent.label_, self.entity_buckets)
            ids["entity"] = entity
        floats: dict[str, np.ndarray] = {}
        if self.context:
            tensor = np.asarray(doc.tensor, dtype=np.float16)
            rows = np.zeros(n, dtype=np.int64)
            for i, tok in enumerate(doc):
                rows[tok.idx:tok.idx + len(tok.text)] = i
            floats["context"] = tensor[rows] if len(doc) else np.zeros((n, CONTEXT_WIDTH), np.float16)
        return Encoded(ids, floats)


_MIN_WORDS = {1: 1, 2: 3}
_TABLES: dict[int, tuple[dict[str, int], dict[str, int], np.ndarray, np.ndarray]] = {}


def derived_tables(nlp: Any) -> tuple[dict[str, int], dict[str, int], np.ndarray, np.ndarray]:
    """(char -> row, pair -> row, char table, pair table): unit-length means of the word vectors
    of the words holding each character / adjacent pair, plus a zero row for "none". Derived,
    not trained, so the same base vectors give the same tables; built once per process."""
    cache_key = id(nlp.vocab.vectors)
    cached = _TABLES.get(cache_key)
    if cached is not None:
        return cached
    disk = _table_cache_path(nlp)
    if disk.is_file():
        try:
            with np.load(disk, allow_pickle=False) as z:
                out = ({str(k): i for i, k in enumerate(z["chars"])}, {str(k): i for i, k in enumerate(z["pairs"])},
                       z["char_table"], z["pair_table"])
            _TABLES[cache_key] = out
            return out
        except (OSError, ValueError, KeyError):
            pass  # a torn or old cache file: rebuilt below
    vectors = nlp.vocab.vectors
    data = np.asarray(vectors.data, dtype=np.float32)
    strings = nlp.vocab.strings
    words: list[tuple[str, int]] = []
    for key, row in vectors.key2row.items():
        if key in strings:
            words.append((unicodedata.normalize("NFKC", strings[key]), int(row)))
    words.sort()
    from scipy.sparse import csr_matrix

    tables = []
    for grams in (lambda w: set(w), lambda w: {w[i:i + 2] for i in range(len(w) - 1)}):
        held: dict[str, list[int]] = {}
        for word, row in words:
            for g in grams(word):
                held.setdefault(g, []).append(row)
        # A pair seen in one word only says no more than that word's own vector.
        keys_ = sorted(k for k, rows in held.items() if len(rows) >= _MIN_WORDS[len(k)])
        table = np.zeros((len(keys_) + 1, data.shape[1]), dtype=np.float32)
        if keys_:
            # Sums as one sparse (grams x rows) product: never a dense copy per occurrence.
            rows = np.concatenate([np.asarray(held[k], dtype=np.int64) for k in keys_])
            index = np.repeat(np.arange(len(keys_)), [len(held[k]) for k in keys_])
            counts = csr_matrix((np.ones(len(rows), dtype=np.float32), (index, rows)),
                                shape=(len(keys_), data.shape[0]))
            table[:-1] = counts @ data
        norms = np.linalg.norm(table, axis=1, keepdims=True)
        table /= np.where(norms > 0, norms, 1.0)
        tables.append(({k: i for i, k in enumerate(keys_)}, table))
    out = (tables[0][0], tables[1][0], tables[0][1], tables[1][1])
    _TABLES[cache_key] = out
    try:
        disk.parent.mkdir(parents=True, exist_ok=True)
        tmp = disk.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(tmp, chars=np.array(sorted(out[0], key=out[0].__getitem__)),
                 pairs=np.array(sorted(out[1], key=out[1].__getitem__)), char_table=out[2], pair_table=out[3])
        os.replace(tmp, disk)  # readers see a whole file or none
    except OSError:
        pass  # a read-only home only costs the rebuild next time
    return out


def _table_cache_path(nlp: Any) -> Path:
    """Derived tables depend only on the base vectors: cached beside the model cache, by their
    sha256, so a job or a test process builds them once per machine (a few seconds)."""
    from newsops_batch.modelcache import default_cache_root

    return default_cache_root().parent / "charner" / f"derived-{vectors_sha256(nlp)[:16]}-v1.npz"


def vectors_sha256(nlp: Any) -> str:
    """Names the exact pretrained table a model was trained against (checked when loaded)."""
    data = np.ascontiguousarray(nlp.vocab.vectors.data, dtype=np.float32)
    return hashlib.sha256(data.tobytes()).hexdigest()


CONTEXT_WIDTH = 256


def load_base(name: str, *, entities: bool, context: bool = False) -> Any:
    """The base pipeline: the tokenizer and vectors only, or with the tok2vec (+ NER) it needs."""
    import spacy

    if entities or context:
        nlp = spacy.load(name)
        wanted = ("tok2vec", "ner") if entities else ("tok2vec",)
        nlp.select_pipes(enable=[p for p in wanted if p in nlp.pipe_names])
        return nlp
    nlp = spacy.load(name, exclude=["tok2vec", "parser", "ner", "morphologizer",
                                    "compound_splitter", "bunsetu_recognizer", "attribute_ruler"])
    return nlp
