"""Article discovery: RSS/Atom feeds (feedparser) and sitemaps (lxml, entities off)."""

from __future__ import annotations

import calendar
import gzip
import io
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import feedparser
import lxml.html
from lxml import etree

_MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # the sitemap protocol's own limit, uncompressed


class FeedError(Exception):
    """The document lists no articles we can read; ``reason`` is the count key."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass
class Entry:
    url: str
    title: str = ""
    summary: str = ""
    published: str | None = None  # ISO 8601, UTC

    def to_dict(self) -> dict[str, str | None]:
        return {"url": self.url, "title": self.title, "summary": self.summary,
                "published": self.published}


@dataclass
class Discovery:
    entries: list[Entry]
    sitemaps: list[str]  # children of a sitemap index
    partial: bool = False  # parsed with errors (e.g. truncated), entries kept


def _text(html: str) -> str:
    if not html or not html.strip():
        return ""
    if "<" not in html:
        return html.strip()
    try:
        return " ".join(lxml.html.fromstring(html).text_content().split())
    except (etree.ParserError, ValueError):
        return html.strip()


def _when(parsed: object) -> str | None:
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), UTC).isoformat()  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None


def _http_link(base: str, link: str) -> str | None:
    if not link:
        return None
    url = urljoin(base, link.strip())
    return url if urlsplit(url).scheme in ("http", "https") else None


def parse_feed(body: bytes, base_url: str, content_type: str = "") -> Discovery:
    # A stream, never bytes or str: feedparser opens a str/bytes that names a path or URL.
    headers = {"content-type": content_type} if content_type else {}
    parsed = feedparser.parse(io.BytesIO(body), response_headers=headers,
                              sanitize_html=True, resolve_relative_uris=False)
    entries: list[Entry] = []
    for e in parsed.entries:
        url = _http_link(base_url, e.get("link") or "")
        if url is None:
            guid = e.get("id") or ""
            url = _http_link(base_url, guid) if guid.startswith("http") else None
        if url is None:
            continue
        summary = e.get("summary") or ""
        if not summary and e.get("content"):
            summary = e.content[0].get("value", "")
        entries.append(Entry(
            url=url,
            title=_text(e.get("title") or ""),
            summary=_text(summary),
            published=_when(e.get("published_parsed") or e.get("updated_parsed")),
        ))
    if not entries:
        if parsed.get("bozo"):
            exc = parsed.get("bozo_exception")
            raise FeedError("feed_malformed", f"{type(exc).__name__}: {exc}")
        if not parsed.get("version"):
            raise FeedError("not_a_feed")
    entries.sort(key=lambda x: x.published or "", reverse=True)
    return Discovery(entries, [], partial=bool(parsed.get("bozo")))


def _inflate(body: bytes) -> bytes:
    if not body.startswith(b"\x1f\x8b"):
        return body
    # Bounded: a small gzip can expand to gigabytes.
    d = zlib.decompressobj(wbits=31)
    try:
        out = d.decompress(body, _MAX_SITEMAP_BYTES)
    except zlib.error as exc:
        raise FeedError("sitemap_malformed", str(exc)) from None
    if d.unconsumed_tail:
        raise FeedError("too_large", "sitemap over 50 MB uncompressed")
    return out


def parse_sitemap(body: bytes, base_url: str) -> Discovery:
    try:
        data = _inflate(body)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise FeedError("sitemap_malformed", str(exc)) from None
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                             recover=True, load_dtd=False)
    try:
        root = etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise FeedError("sitemap_malformed", str(exc)) from None
    if root is None:
        raise FeedError("sitemap_malformed", "no document element")
    entries: list[Entry] = []
    children: list[str] = []
    for el in root:
        if not isinstance(el.tag, str):
            continue
        name = etree.QName(el).localname
        fields = {etree.QName(c).localname: (c.text or "").strip()
                  for c in el.iter() if isinstance(c.tag, str)}
        url = _http_link(base_url, fields.get("loc", ""))
        if url is None:
            continue
        if name == "sitemap":
            children.append(url)
        elif name == "url":
            when = fields.get("publication_date") or fields.get("lastmod") or None
            entries.append(Entry(url=url, title=fields.get("title", ""), published=iso_timestamp(when)))
    if not entries and not children:
        raise FeedError("sitemap_malformed", f"no <url> or <sitemap> in <{root.tag}>")
    entries.sort(key=lambda x: x.published or "", reverse=True)
    return Discovery(entries, children, partial=bool(parser.error_log))


def iso_timestamp(value: str | None) -> str | None:
    """An ISO 8601 time in UTC, or None for a missing or unreadable one."""
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat()
