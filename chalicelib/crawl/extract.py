"""Article text and metadata from archived HTML (trafilatura), or the feed's summary."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from trafilatura import bare_extraction

from chalicelib.crawl.charset import decode_page
from chalicelib.crawl.feeds import Entry, iso_timestamp

# lxml refuses a str that still carries an XML encoding declaration (XHTML pages do).
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_LANG = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]+)*$", re.IGNORECASE)
_HTML_LANG = re.compile(r"<html[^>]*?\slang\s*=\s*[\"']?([A-Za-z-]+)", re.IGNORECASE)
# Text shorter than this is navigation or a teaser, not an article body.
MIN_BODY_CHARS = 80


class ExtractionFailed(Exception):
    reason = "no_article_text"


@dataclass
class Extracted:
    title: str
    body: str
    published: str | None
    author: str | None
    site: str | None
    language: str | None
    method: str  # "trafilatura" or "feed_summary"
    encoding: str
    repaired: bool


def _language(value: str | None) -> str | None:
    if not value or not _LANG.match(value.strip()):
        return None
    return value.strip().split("-", 1)[0].lower()


def _trafilatura(html: str, url: str, *, fast: bool) -> Any:
    try:
        return bare_extraction(html, url=url, fast=fast, with_metadata=True,
                               include_comments=False, include_tables=False,
                               include_images=False, deduplicate=False)
    except (ValueError, TypeError, AttributeError, IndexError):
        # trafilatura has no exception of its own; a page it cannot parse is just empty.
        return None


def _page_language(html: str) -> str | None:
    m = _HTML_LANG.search(html[:4096])
    return _language(m.group(1)) if m else None


def extract_article(body: bytes, url: str, *, declared_charset: str | None = None,
                    entry: Entry | None = None) -> Extracted:
    """Raises Undecodable or ExtractionFailed; never returns an empty body."""
    decoded = decode_page(body, declared_charset)
    html = _XML_DECL.sub("", decoded.text, count=1)
    # The fast path skips trafilatura's backup extractors; they run only when it finds
    # (almost) nothing, which keeps ordinary article pages at about half the CPU.
    doc = _trafilatura(html, url, fast=True)
    if len((getattr(doc, "text", None) or "").strip()) < MIN_BODY_CHARS:
        doc = _trafilatura(html, url, fast=False) or doc
    text = (getattr(doc, "text", None) or "").strip()
    title = (getattr(doc, "title", None) or "").strip() or (entry.title if entry else "")
    # trafilatura keeps the <h1> as the first line; the title has its own field.
    first, _, rest = text.partition("\n")
    if title and first.strip() == title and rest.strip():
        text = rest.strip()
    method = "trafilatura"
    if len(text) < MIN_BODY_CHARS and entry is not None and len(entry.summary) > len(text):
        text, method = entry.summary.strip(), "feed_summary"
    if not text:
        raise ExtractionFailed(f"no text in {url}")
    if not title:
        title = text.split("\n", 1)[0][:200]
    published = (entry.published if entry and entry.published else None) or iso_timestamp(
        getattr(doc, "date", None))
    return Extracted(
        title=title,
        body=text,
        published=published,
        author=(getattr(doc, "author", None) or None),
        site=(getattr(doc, "sitename", None) or None),
        language=_language(getattr(doc, "language", None)) or _page_language(html),
        method=method,
        encoding=decoded.encoding,
        repaired=decoded.repaired,
    )
