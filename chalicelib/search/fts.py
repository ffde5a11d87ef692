"""Text preparation for the SQLite FTS5 engine: CJK runs become overlapping character bigrams.

FTS5's ``unicode61`` tokenizer keeps a run of CJK characters as one token, so 決算 inside
決算発表 would never match, and its ``trigram`` tokenizer cannot match 2-character words at
all. Rewriting every CJK run as its bigrams (自動車 -> 自動 動車) before FTS5 sees it, and
querying the same bigrams as a *phrase*, finds 2-character words anywhere and keeps
自動車 from matching 自動販売機と電動車 (whose 自動 and 動車 are not adjacent). This is the
scheme of Lucene's ``cjk_bigram`` filter, which the cluster mapping uses too.

Latin text is left to ``unicode61`` with the porter stemmer (lower-casing, diacritics).
"""

from __future__ import annotations

import re
import unicodedata
from operator import add

import numpy as np

# Hiragana, Katakana (incl. the prolonged sound mark), CJK ideographs (+ extension A and
# compatibility forms), Hangul syllables. NFKC runs first, so half-width katakana arrive here
# already as full-width.
_CJK = "\u3040-\u309f\u30a0-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_CJK_RUN = re.compile(f"[{_CJK}]+")
# The same ranges as sorted code point boundaries: a character is CJK when an odd number of
# boundaries are <= it (one searchsorted instead of five pairs of comparisons).
_CJK_BOUNDS = np.array([0x3040, 0x3100, 0x3400, 0x4DC0, 0x4E00, 0xA000, 0xAC00, 0xD7B0, 0xF900,
                        0xFB00], dtype=np.uint32)
# Below this length the regex path is faster than numpy's per-call overhead (titles).
_VECTOR_MIN_CHARS = 128
_TERM = re.compile(r'"([^"]*)"|(\S+)')


def _bigrams(run: str) -> str:
    if len(run) < 2:
        return run
    # map(add, …) pairs the characters in C: this runs on every document at indexing time.
    return " ".join(map(add, run, run[1:]))


def index_text(text: str) -> str:
    """The text FTS5 indexes: NFKC-normalised, with every CJK run spelled as its bigrams."""
    text = unicodedata.normalize("NFKC", text)
    if text.isascii():  # O(1) in CPython: most English text never scans for CJK at all
        return text
    if len(text) >= _VECTOR_MIN_CHARS:
        return _bigram_text(text)
    if not _CJK_RUN.search(text):
        return text
    return _CJK_RUN.sub(lambda m: f" {_bigrams(m.group())} ", text)


def _bigram_text(text: str) -> str:
    """What the regex path of index_text() returns, computed on code points with numpy: a
    body's hundreds of CJK runs cost one pass instead of a Python call and a join each.

    Every CJK run becomes " " + its bigrams, each followed by " " (a one-character run:
    " " + the character + " "); other characters stay as they are. Per character that is up
    to four output slots: [" " if a run starts here, the character, the next character,
    " "], kept or dropped by a mask, then read back in order.
    """
    # surrogatepass: a lone surrogate goes through unchanged, as it does in the regex path.
    cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    cjk = (np.searchsorted(_CJK_BOUNDS, cps, side="right") & 1).astype(bool)
    if not cjk.any():
        return text
    n = len(cps)
    start = cjk.copy()  # first character of a run
    start[1:] &= ~cjk[:-1]
    pair = cjk.copy()  # first character of a bigram
    pair[:-1] &= cjk[1:]
    pair[-1] = False
    emits = pair | start  # a CJK character that writes something (ends with " ")
    slots = np.empty((n, 4), dtype=np.uint32)
    slots[:, 0] = 0x20
    slots[:, 1] = cps
    slots[:-1, 2] = cps[1:]
    slots[-1, 2] = 0x20  # never kept (the last character starts no bigram)
    slots[:, 3] = 0x20
    keep = np.empty((n, 4), dtype=bool)
    keep[:, 0] = start
    keep[:, 1] = emits | ~cjk
    keep[:, 2] = pair
    keep[:, 3] = emits
    return slots[keep].tobytes().decode("utf-32-le", "surrogatepass")


def split_terms(text: str) -> list[str]:
    """The terms of a user's query: words, and "quoted phrases" kept whole; no bare punctuation."""
    terms = []
    for m in _TERM.finditer(text):
        term = (m.group(1) if m.group(1) is not None else m.group(2)).strip()
        if any(ch.isalnum() for ch in term):
            terms.append(term)
    return terms


def match_expression(text: str) -> str | None:
    """An FTS5 MATCH expression: every term (a word or a "quoted phrase") must occur, as a phrase.

    Returns None when the text has nothing searchable (only punctuation, say).
    """
    phrases = []
    for term in split_terms(text):
        # Quotes are FTS5 syntax; everything else inside a quoted phrase is split by unicode61
        # exactly as the indexed text was, so the phrase's tokens line up with the index.
        tokens = index_text(term).replace('"', " ").split()
        if any(any(ch.isalnum() for ch in tok) for tok in tokens):
            phrases.append('"' + " ".join(tokens) + '"')
    return " AND ".join(phrases) if phrases else None
