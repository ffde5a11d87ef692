"""Language identification for routing an article to the models of its language.

Two steps. The script first: kana means Japanese, hangul Korean, han without kana Chinese;
counting characters is exact for these and costs a few microseconds. Alphabetic text then goes
to py3langid (langid.py's naive Bayes model over byte n-grams, 97 languages, shipped inside the
package: nothing is downloaded), which tells French, German, Spanish... from English. Text it
cannot place with confidence is "und" (undetermined), never English by default: a task decides
what it does with a language it has no model for (docs/design.md §10, ``other_languages``).
"""

from __future__ import annotations

import re
import threading
from typing import Any

_KANA = re.compile(r"[\u3040-\u30ff]")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_HANGUL = re.compile(r"[\uac00-\ud7af]")

# Scripts are counted over the start of the text: a Japanese article is Japanese from its title.
_SCRIPT_CHARS = 1000
# The model walks the text byte by byte in Python (about 1 us a byte): a title and the start
# of the body tell a news article's language as well as the whole of it does.
_MODEL_CHARS = 300
# Below this probability (the model's, normalised over its 97 languages) the answer is a guess.
_MIN_CONFIDENCE = 0.5
# Fewer letters than this say nothing about a language.
_MIN_LETTERS = 12

UNDETERMINED = "und"

_identifier: Any = None
_lock = threading.Lock()


def _model() -> Any:
    """The py3langid identifier, loaded once per process (about 0.7 s: the model is xz-packed)."""
    global _identifier
    if _identifier is None:
        with _lock:
            if _identifier is None:
                from py3langid.langid import MODEL_FILE, LanguageIdentifier

                _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return _identifier


def detect_language(text: str) -> str:
    """ISO 639-1 code of ``text``, or "und" when it cannot be told."""
    sample = text[:_SCRIPT_CHARS]
    if not sample.isascii():  # plain ASCII has no kana, han or hangul: skip the counting
        kana = len(_KANA.findall(sample))
        cjk = len(_CJK.findall(sample))
        hangul = len(_HANGUL.findall(sample))
        other = sum(map(str.isalpha, sample)) - kana - cjk - hangul
        if kana and kana + cjk > other * 0.3:
            return "ja"
        if hangul and hangul > other * 0.3:
            return "ko"
        if cjk and cjk > other * 0.3:
            return "zh"
    words = " ".join(text[:_MODEL_CHARS].split())
    if sum(map(str.isalpha, words)) < _MIN_LETTERS:
        return UNDETERMINED
    language, confidence = _model().classify(words)
    return str(language) if confidence >= _MIN_CONFIDENCE else UNDETERMINED
