"""Bytes of a page to text, when servers lie about or omit the charset.

Order: a byte-order mark; valid UTF-8 (random bytes in another encoding are almost never
valid UTF-8, so this beats a header claiming latin-1); the charset of the header, then of
the page's <meta>, decoded strictly; charset-normalizer's guess; finally UTF-8 with
replacement characters, accepted only while they stay rare.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from charset_normalizer import from_bytes

_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE
)
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))
# Above this share of U+FFFD the text is mostly noise: skip it rather than emit garbage.
MAX_REPLACED_SHARE = 0.02


class Undecodable(Exception):
    reason = "undecodable"


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str
    repaired: bool = False  # invalid bytes were replaced with U+FFFD


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip()).name
    except LookupError:
        return None


def meta_charset(body: bytes) -> str | None:
    m = _META_CHARSET.search(body[:4096])
    return m.group(1).decode("ascii", errors="ignore") if m else None


def decode_page(body: bytes, declared: str | None = None) -> Decoded:
    for bom, enc in _BOMS:
        if body.startswith(bom):
            return Decoded(body.decode(enc, errors="replace"), enc)
    try:
        return Decoded(body.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    tried = {"utf-8"}
    claimed = [_codec(name) for name in (declared, meta_charset(body))]
    for enc in claimed:
        if enc and enc not in tried:
            tried.add(enc)
            try:
                return Decoded(body.decode(enc), enc)
            except UnicodeDecodeError:
                continue
    if "utf-8" in claimed:
        # Said UTF-8 and nearly is: a few corrupt bytes, not another encoding.
        text = body.decode("utf-8", errors="replace")
        if text.count("\ufffd") <= MAX_REPLACED_SHARE * max(len(text), 1):
            return Decoded(text, "utf-8", repaired=True)
    best = from_bytes(body[:200_000]).best()
    if best is not None and best.encoding:
        enc = _codec(best.encoding) or best.encoding
        if enc not in tried:
            try:
                return Decoded(body.decode(enc), enc)
            except (UnicodeDecodeError, LookupError):
                pass
    text = body.decode("utf-8", errors="replace")
    if text.count("\ufffd") > MAX_REPLACED_SHARE * max(len(text), 1):
        raise Undecodable(f"{text.count(chr(0xFFFD))} invalid characters in {len(text)}")
    return Decoded(text, "utf-8", repaired=True)


def charset_param(content_type: str) -> str | None:
    """The ``charset`` parameter of a Content-Type header value, if it names one."""
    for part in content_type.split(";")[1:]:
        k, _, v = part.partition("=")
        if k.strip().lower() == "charset" and v.strip():
            return v.strip().strip("\"'")
    return None

