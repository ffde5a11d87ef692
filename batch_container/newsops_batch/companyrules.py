"""Rules that refine a NER's company spans with evidence from the article itself.

No list of company names is involved: the rules read the language's grammar of names.

- Japanese legal forms: 株式会社 / 有限会社 / 合同会社 / (株) … attached to a run of nouns *is* a
  company name (東和電機株式会社, 株式会社銀嶺システムズ). GiNZA often tags only part of such a name,
  or a place inside it (浜松 of 浜松精密株式会社); the anchored span replaces what it overlaps.

The English rules of earlier releases (a one-word name that only opens sentences is dropped; a
name is cut after "Inc.") were written against the project's own sample generator. On real news
the first removed correct names (Nvidia or Chevron opening a sentence, Reuters in "(Reuters)"),
and no real labelled English text here shows that either raises F1, so both are gone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from newsops_batch.companynames import Mention

JA_LEGAL_FORMS = frozenset({"株式会社", "有限会社", "合同会社", "合資会社", "合名会社", "㈱"})
_JA_NOT_NAME = ("名詞-数詞", "名詞-普通名詞-副詞可能", "名詞-普通名詞-助数詞可能")


def _name_part(tok: Any) -> bool:
    tag = tok.tag_ or ""
    return (tag.startswith(("名詞", "接頭辞", "接尾辞-名詞的")) and not tag.startswith(_JA_NOT_NAME)
            and not tag.endswith("助数詞")
            and tok.text not in JA_LEGAL_FORMS and not tok.is_space and not tok.is_punct)


def japanese_legal_form_spans(doc: Any, offset: int = 0) -> list[Mention]:
    """Company spans anchored on a legal form, from a GiNZA/Sudachi doc (``tag_`` = Sudachi POS)."""
    found: list[Mention] = []
    n = len(doc)
    for i, tok in enumerate(doc):
        if tok.text not in JA_LEGAL_FORMS:
            continue
        j = i
        while j > 0 and not doc[j - 1].whitespace_ and _name_part(doc[j - 1]):
            j -= 1
        if j < i:  # 東和電機株式会社
            span = doc[j:i + 1]
        else:  # 株式会社銀嶺システムズ
            k = i + 1
            while k < n and not doc[k - 1].whitespace_ and _name_part(doc[k]):
                k += 1
            if k == i + 1:
                continue
            span = doc[i:k]
        found.append(Mention(name=span.text, label="Company", start=offset + span.start_char,
                             end=offset + span.end_char, score=None))
    return found


def prefer_anchored(model: Sequence[Mention], anchored: Sequence[Mention]) -> list[Mention]:
    """Anchored spans, plus the model's spans that overlap none of them."""
    kept = [m for m in model if not any(m.start < a.end and a.start < m.end for a in anchored)]
    return sorted([*anchored, *kept], key=lambda m: (m.start, m.end))
