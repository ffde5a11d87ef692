"""Charsets, extraction and feed/sitemap parsing on hostile bytes (no network)."""

from __future__ import annotations

import gzip

import pytest

from chalicelib.crawl.charset import Undecodable, decode_page
from chalicelib.crawl.extract import ExtractionFailed, extract_article
from chalicelib.crawl.feeds import Entry, FeedError, parse_feed, parse_sitemap
from tests.support.badserver import ARTICLE_TEXT, JA_TEXT, page


def test_header_claims_utf8_body_is_shift_jis() -> None:
    body = page("東和電機", JA_TEXT, charset_meta="shift_jis", lang="ja").encode("shift_jis")
    d = decode_page(body, "utf-8")
    assert d.encoding == "shift_jis" and "東和電機株式会社" in d.text


def test_header_claims_latin1_body_is_utf8() -> None:
    d = decode_page("<p>Café crème brûlée</p>".encode(), "iso-8859-1")
    assert d.text == "<p>Café crème brûlée</p>"


def test_no_charset_anywhere_is_guessed() -> None:
    text = page("Prix", ARTICLE_TEXT + " Le café coûte très cher à Genève.", charset_meta=None)
    d = decode_page(text.encode("cp1252"), None)
    assert "café coûte très" in d.text


def test_a_few_invalid_bytes_are_replaced_and_flagged() -> None:
    body = page("T", ARTICLE_TEXT).encode()
    d = decode_page(body[:300] + b"\xff\xfe" + body[300:], "utf-8")
    assert d.repaired and d.text.count("\ufffd") <= 2


def test_bogus_declared_charset_name_is_ignored() -> None:
    assert decode_page(b"<p>plain</p>", "x-no-such-charset").text == "<p>plain</p>"


def test_binary_noise_is_undecodable_or_empty() -> None:
    import random

    rnd = random.Random(1)
    noise = bytes(rnd.getrandbits(8) for _ in range(5000))
    with pytest.raises((Undecodable, ExtractionFailed)):
        extract_article(noise, "http://x.test/a")


def test_extraction_fields_and_title_not_repeated_in_body() -> None:
    html = page("Quarterly revenue rises", ARTICLE_TEXT).replace(
        "<head>", '<head><meta name="author" content="Avery Collins">'
        '<meta property="article:published_time" content="2026-11-03T09:15:00+00:00">')
    ex = extract_article(html.encode(), "http://x.test/a")
    assert ex.title == "Quarterly revenue rises"
    assert ex.body.startswith("Northwind Holdings said")
    assert ex.author == "Avery Collins" and ex.language == "en" and ex.method == "trafilatura"
    assert ex.published and ex.published.startswith("2026-11-03")


def test_xhtml_with_xml_declaration_is_extracted() -> None:
    html = '<?xml version="1.0" encoding="utf-8"?>\n' + page("XHTML story", ARTICLE_TEXT)
    assert "Northwind" in extract_article(html.encode(), "http://x.test/a").body


def test_empty_page_falls_back_to_feed_summary() -> None:
    entry = Entry("http://x.test/a", "Feed title", "A summary from the feed that is long "
                  "enough to be worth keeping as the article body in the batch.",
                  "2026-11-02T10:00:00+00:00")
    ex = extract_article(b"<html><body><script>app()</script></body></html>",
                         "http://x.test/a", entry=entry)
    assert ex.method == "feed_summary" and ex.title == "Feed title"
    assert ex.published == "2026-11-02T10:00:00+00:00"
    with pytest.raises(ExtractionFailed):
        extract_article(b"<html><body></body></html>", "http://x.test/a")


RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><title>A &amp; B</title><link>/2026/a</link><pubDate>Mon, 02 Nov 2026 10:00:00 GMT</pubDate>
<description>&lt;p&gt;Summary &lt;b&gt;one&lt;/b&gt;&lt;/p&gt;</description></item>
<item><title>C</title><link>javascript:alert(1)</link></item>
<item><title>D</title><link>https://x.test/2026/d</link><pubDate>Tue, 03 Nov 2026 10:00:00 GMT</pubDate></item>
</channel></rss>"""


def test_feed_entries_are_absolute_newest_first_and_plain_text() -> None:
    d = parse_feed(RSS, "https://x.test/rss.xml")
    assert [e.url for e in d.entries] == ["https://x.test/2026/d", "https://x.test/2026/a"]
    a = d.entries[1]
    assert a.title == "A & B" and a.summary == "Summary one"
    assert a.published == "2026-11-02T10:00:00+00:00"


def test_malformed_and_non_feeds_raise_with_reason() -> None:
    with pytest.raises(FeedError) as e:
        parse_feed(b"<rss><channel><title>oops</tit<item>&&&", "https://x.test/")
    assert e.value.reason == "feed_malformed"
    with pytest.raises(FeedError):
        parse_feed(b"<html><body>moved</body></html>", "https://x.test/")


def test_truncated_feed_keeps_complete_entries() -> None:
    cut = RSS[: RSS.index(b"<item><title>D") + 20]
    d = parse_feed(cut, "https://x.test/rss.xml")
    assert d.partial and [e.url for e in d.entries] == ["https://x.test/2026/a"]


def test_feed_body_naming_a_local_file_is_not_opened() -> None:
    with pytest.raises(FeedError):
        parse_feed(b"/etc/passwd", "https://x.test/")


SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>https://x.test/a</loc><lastmod>2026-11-01</lastmod></url>
<url><loc>https://x.test/b</loc><news:news><news:publication_date>2026-11-02T08:00:00Z</news:publication_date>
<news:title>B title</news:title></news:news></url>
</urlset>"""


def test_sitemap_plain_and_gzipped() -> None:
    for body in (SITEMAP, gzip.compress(SITEMAP)):
        d = parse_sitemap(body, "https://x.test/sitemap.xml")
        assert [(e.url, e.title) for e in d.entries] == [("https://x.test/b", "B title"),
                                                        ("https://x.test/a", "")]


def test_sitemap_index_and_entity_attacks() -> None:
    index = (b'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
             b"<sitemap><loc>https://x.test/s1.xml</loc></sitemap></sitemapindex>")
    assert parse_sitemap(index, "https://x.test/").sitemaps == ["https://x.test/s1.xml"]
    xxe = (b'<?xml version="1.0"?><!DOCTYPE u [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
           b"<url><loc>https://x.test/&x;</loc></url></urlset>")
    try:
        d = parse_sitemap(xxe, "https://x.test/")
        assert all("root:" not in e.url for e in d.entries)
    except FeedError:
        pass
    laughs = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
              + b"".join(f'<!ENTITY {c} "{("&" + p + ";") * 10}">'.encode()
                         for p, c in zip("abcdefgh", "bcdefghi", strict=True))
              + b']><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
              b"<url><loc>https://x.test/&i;</loc></url></urlset>")
    try:
        parse_sitemap(laughs, "https://x.test/")
    except FeedError:
        pass


def test_sitemap_gzip_bomb_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import zlib

    from chalicelib.crawl import feeds

    monkeypatch.setattr(feeds, "_MAX_SITEMAP_BYTES", 1024 * 1024)  # the real cap is 50 MiB
    comp = zlib.compressobj(1, zlib.DEFLATED, 31)
    bomb = comp.compress(b"<urlset>" + b" " * (2 * 1024 * 1024)) + comp.flush()
    with pytest.raises(FeedError) as e:
        parse_sitemap(bomb, "https://x.test/")
    assert e.value.reason == "too_large"
