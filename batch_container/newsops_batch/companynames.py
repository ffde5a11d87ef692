"""Company names as people compare them: legal forms dropped, one entry per company per article.

"Northwind Holdings Inc." and "Northwind Holdings" are the same company; so are 株式会社東和電機,
東和電機株式会社 and 東和電機. The normalised form keeps the name's own spelling (it is shown and
indexed); comparisons use its casefolded key.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

# Legal forms, matched as the last word(s) of a name, with an optional comma before them.
_EN_FORMS = (
    "incorporated", "inc", "corporation", "corp", "company", "co", "limited", "ltd", "plc",
    "llc", "l.l.c", "lp", "llp", "ag", "sa", "s.a", "nv", "n.v", "bv", "b.v", "gmbh", "ab",
    "asa", "oyj", "spa", "s.p.a", "pty", "k.k", "kk", "se", "srl", "s.r.l",
)
_EN_FORM = re.compile(
    r"(?:,?\s+(?:" + "|".join(re.escape(f) for f in sorted(_EN_FORMS, key=len, reverse=True))
    + r")\.?)+\s*$", re.IGNORECASE)
_JA_FORMS = re.compile(r"^(?:株式会社|有限会社|合同会社|合資会社|合名会社|\(株\)|（株）|㈱)\s*|"
                       r"\s*(?:株式会社|有限会社|合同会社|合資会社|合名会社|\(株\)|（株）|㈱)$")
_POSSESSIVE = re.compile(r"[’']s?$")
_QUOTES = "\"'“”‘’「」『』"
_SPACE = re.compile(r"\s+")


def normalize_company(name: str) -> str:
    text = unicodedata.normalize("NFKC", name)
    text = _SPACE.sub(" ", text).strip().strip(_QUOTES).strip()
    text = _POSSESSIVE.sub("", text).strip()
    for _ in range(3):  # "Foo Holdings Co., Ltd." carries two forms
        stripped = _JA_FORMS.sub("", _EN_FORM.sub("", text)).strip(" ,・")
        if not stripped or stripped == text:
            break
        text = stripped
    return text


def company_key(name: str) -> str:
    """What two mentions of the same company share."""
    return normalize_company(name).casefold()


@dataclass
class Mention:
    name: str
    label: str
    start: int
    end: int
    score: float | None  # None: the model gives no probability (spaCy's greedy NER)


def merge_mentions(mentions: Iterable[Mention]) -> list[dict[str, object]]:
    """One entry per company in order of first mention: the longest spelling (usually the legal
    name), the first mention's offsets, the best score and how often it was mentioned."""
    out: dict[str, dict[str, object]] = {}
    for m in sorted(mentions, key=lambda m: (m.start, -m.end)):
        normalized = normalize_company(m.name)
        if not normalized:
            continue
        key = normalized.casefold()
        entry = out.get(key)
        if entry is None:
            out[key] = {"name": m.name, "normalized": normalized, "label": m.label,
                        "start": m.start, "end": m.end, "score": _round(m.score), "mentions": 1}
            continue
        entry["mentions"] = int(entry["mentions"]) + 1  # type: ignore[call-overload]
        if m.score is not None:
            entry["score"] = max(float(entry["score"] or 0.0), _round(m.score))  # type: ignore[arg-type]
        if len(m.name) > len(str(entry["name"])):
            entry["name"] = m.name
    return list(out.values())


def _round(score: float | None) -> float | None:
    return None if score is None else round(score, 4)
