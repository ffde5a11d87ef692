"""Cheap language detection for routing: enough to tell Japanese from English and Latin text."""

from __future__ import annotations

import re

_KANA = re.compile(r"[\u3040-\u30ff]")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_HANGUL = re.compile(r"[\uac00-\ud7af]")
_LATIN = re.compile(r"[A-Za-z]")


def detect_language(text: str) -> str:
    """ISO 639-1 code by script counts; "en" for Latin text (the pipeline's models are English)."""
    sample = text[:4000]
    kana = len(_KANA.findall(sample))
    cjk = len(_CJK.findall(sample))
    hangul = len(_HANGUL.findall(sample))
    latin = len(_LATIN.findall(sample))
    if kana and kana + cjk > latin * 0.3:
        return "ja"
    if hangul > latin * 0.3 and hangul:
        return "ko"
    if cjk > latin * 0.3 and cjk:
        return "zh"
    return "en" if latin else "und"
