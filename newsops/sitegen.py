"""The bundled sample news site, as bytes: article pages, RSS/Atom feeds, sitemaps, robots.txt.

Everything is generated from ``newsops.sample`` (deterministic, with ground truth), so the
crawler demo and tests can compare what the crawler extracted with what was published.
``newsops.site`` serves these pages over real HTTP.
"""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from email.utils import format_datetime
from typing import Literal
from urllib.parse import urlsplit

from newsops.sample import SampleArticle, SourceSite, generate, sources

FeedKind = Literal["rss", "atom", "sitemap"]

_AUTHORS = ("Avery Collins", "Morgan Reyes", "Priya Natarajan", "Tomas Lindgren", "Grace Okafor",
            "Daniel Weiss", "Hannah Brooks", "Kenji Mori")
_JA_AUTHORS = ("佐藤 美咲", "高橋 健一", "田中 由紀", "中村 大輔", "小林 彩")


@dataclass(frozen=True)
class HostSite:
    """One outlet served on its own loopback address."""

    name: str
    host: str  # the name in URLs; the crawler maps it to ``address`` (static_hosts)
    address: str  # 127.0.0.x
    language: str
    feed: FeedKind = "rss"
    # Whether the feed answers If-None-Match / If-Modified-Since with 304. One demo host
    # does not, so a repeated crawl shows id-based dedup as well as 304s.
    conditional: bool = True
    crawl_delay: float | None = None


@dataclass(frozen=True)
class Page:
    content_type: str
    body: bytes
    etag: str
    last_modified: str | None = None  # HTTP date


@dataclass
class Published:
    """An article as the site serves it, with the ground truth the crawler should recover."""

    url: str
    article: SampleArticle
    author: str
    near_duplicate_of: str | None = None  # a syndicated copy of another page


@dataclass
class HostContent:
    site: HostSite
    articles: list[Published] = field(default_factory=list)


def _author(a: SampleArticle) -> str:
    pool = _JA_AUTHORS if a.language == "ja" else _AUTHORS
    return pool[int(hashlib.sha256(a.url.encode()).hexdigest(), 16) % len(pool)]


def demo_hosts() -> list[HostSite]:
    """The five sample outlets on 127.0.0.2-6, mixing RSS, Atom and a sitemap."""
    kinds: tuple[FeedKind, ...] = ("rss", "atom", "rss", "rss", "sitemap")
    out = []
    for i, s in enumerate(sources()):
        out.append(HostSite(name=s.name, host=s.host, address=f"127.0.0.{2 + i}",
                            language=s.language, feed=kinds[i % len(kinds)],
                            conditional=i != 2))
    return out


def bench_hosts(n: int) -> list[HostSite]:
    """``n`` synthetic outlets on 127.0.1.x for the crawl benchmark."""
    langs = {s.language for s in sources()}
    assert "en" in langs
    return [HostSite(name=f"Bench Wire {i:02d}", host=f"bench-{i:02d}.example",
                     address=f"127.0.1.{1 + i}", language="en", feed="rss")
            for i in range(n)]


def _path(a: SampleArticle) -> str:
    return urlsplit(a.url).path


def layout_demo(n: int, *, seed: int = 7, syndicated: int = 2) -> list[HostContent]:
    """``n`` sample articles on the demo hosts, plus ``syndicated`` near-duplicate copies."""
    hosts = demo_hosts()
    by_source: dict[str, HostContent] = {h.name: HostContent(h) for h in hosts}
    for a in generate(n, seed=seed):
        hc = by_source[a.source]
        hc.articles.append(Published(_path(a), a, _author(a)))
    _syndicate(list(by_source.values()), syndicated)
    return list(by_source.values())


def layout_bench(hosts: int, per_host: int, *, seed: int = 11) -> list[HostContent]:
    """English sample articles dealt round-robin to ``hosts`` synthetic outlets."""
    content = [HostContent(h) for h in bench_hosts(hosts)]
    for i, a in enumerate(generate(hosts * per_host, seed=seed, ja_share=0.0)):
        hc = content[i % hosts]
        a = replace(a, source=hc.site.name)
        hc.articles.append(Published(_path(a), a, _author(a)))
    return content


def _syndicate(content: list[HostContent], count: int) -> None:
    """Republish a few articles on another outlet of the same language.

    Wire copy is republished word for word under a new URL, a new headline and another
    site's page layout: the crawler must drop the copy by its text (SimHash), since its
    id (URL) is new.
    """
    made = 0
    for src in content:
        for dst in content:
            if made >= count:
                return
            if dst is src or dst.site.language != src.site.language or not src.articles:
                continue
            orig = src.articles[made % len(src.articles)]
            a = orig.article
            title = f"{a.title}（{src.site.name}）" if a.language == "ja" else (
                f"{a.title} - via {src.site.name}")
            copy = replace(a, source=dst.site.name, title=title)
            path = f"{orig.url.rstrip('/')}-syndicated"
            dst.articles.append(Published(path, copy, orig.author, near_duplicate_of=orig.url))
            made += 1


def _base(site: HostSite, port: int) -> str:
    return f"http://{site.host}:{port}" if port != 80 else f"http://{site.host}"


def _etag(data: bytes) -> str:
    return '"' + hashlib.sha256(data).hexdigest()[:20] + '"'


def _http_date(iso: str) -> str:
    return format_datetime(datetime.fromisoformat(iso), usegmt=False)


def article_html(p: Published, site: HostSite, others: list[Published]) -> bytes:
    a = p.article
    e = html.escape
    ja = a.language == "ja"
    paragraphs = "\n".join(f"      <p>{e(par)}</p>" for par in a.body.split("\n\n"))
    related = "\n".join(
        f'        <li><a href="{e(o.url)}">{e(o.article.title)}</a></li>' for o in others[:5]
    )
    nav = ("マーケット", "企業", "テクノロジー", "エネルギー") if ja else (
        "Markets", "Companies", "Technology", "Energy", "Opinion")
    ld = json.dumps({
        "@context": "https://schema.org", "@type": "NewsArticle", "headline": a.title,
        "datePublished": a.published, "author": {"@type": "Person", "name": p.author},
        "publisher": {"@type": "Organization", "name": site.name},
    }, ensure_ascii=False)
    cookie = ("当サイトはクッキーを使用しています。" if ja
              else "We use cookies to improve your experience. Manage preferences.")
    return f"""<!DOCTYPE html>
<html lang="{a.language}">
<head>
  <meta charset="utf-8">
  <title>{e(a.title)} | {e(site.name)}</title>
  <meta name="author" content="{e(p.author)}">
  <meta property="og:title" content="{e(a.title)}">
  <meta property="og:site_name" content="{e(site.name)}">
  <meta property="og:type" content="article">
  <meta property="article:published_time" content="{e(a.published)}">
  <script type="application/ld+json">{ld}</script>
</head>
<body>
  <div class="cookie-banner">{e(cookie)}</div>
  <header>
    <a class="logo" href="/">{e(site.name)}</a>
    <nav><ul>{"".join(f'<li><a href="/{i}">{e(n)}</a></li>' for i, n in enumerate(nav))}</ul></nav>
  </header>
  <main>
    <article>
      <h1>{e(a.title)}</h1>
      <p class="byline">By {e(p.author)} &middot; <time datetime="{e(a.published)}">{e(a.published[:10])}</time></p>
{paragraphs}
    </article>
    <aside>
      <h2>{"よく読まれている記事" if ja else "Most read"}</h2>
      <ul>
{related}
      </ul>
    </aside>
  </main>
  <footer><p>&copy; 2026 {e(site.name)}. {"無断転載を禁じます。" if ja else "All rights reserved."}</p>
  <p><a href="/about">About</a> &middot; <a href="/privacy">Privacy</a></p></footer>
</body>
</html>
""".encode()


def _link(p: Published, base: str, i: int) -> str:
    # Every fifth link carries tracking parameters: canonicalisation must see through them.
    url = base + p.url
    return f"{url}?utm_source=rss&utm_medium=feed" if i % 5 == 4 else url


def _summary(a: SampleArticle) -> str:
    first = a.body.split("\n\n", 1)[0]
    return first[:300]


def rss(site: HostSite, items: list[Published], base: str) -> bytes:
    e = html.escape
    entries = "\n".join(f"""    <item>
      <title>{e(p.article.title)}</title>
      <link>{e(_link(p, base, i))}</link>
      <guid isPermaLink="false">{e(p.url)}</guid>
      <pubDate>{_http_date(p.article.published)}</pubDate>
      <description>{e(_summary(p.article))}</description>
    </item>""" for i, p in enumerate(items))
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0">
  <channel>
    <title>{e(site.name)}</title>
    <link>{e(base)}/</link>
    <description>Business news from {e(site.name)}</description>
    <language>{site.language}</language>
{entries}
  </channel>
</rss>
""".encode()


def atom(site: HostSite, items: list[Published], base: str) -> bytes:
    e = html.escape
    updated = items[0].article.published if items else "2026-11-01T00:00:00+00:00"
    entries = "\n".join(f"""  <entry>
    <title>{e(p.article.title)}</title>
    <link rel="alternate" href="{e(_link(p, base, i))}"/>
    <id>{e(base + p.url)}</id>
    <updated>{p.article.published}</updated>
    <published>{p.article.published}</published>
    <author><name>{e(p.author)}</name></author>
    <summary>{e(_summary(p.article))}</summary>
  </entry>""" for i, p in enumerate(items))
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{site.language}">
  <title>{e(site.name)}</title>
  <id>{e(base)}/</id>
  <updated>{updated}</updated>
  <link rel="self" href="{e(base)}/atom.xml"/>
{entries}
</feed>
""".encode()


def sitemap(site: HostSite, items: list[Published], base: str) -> bytes:
    e = html.escape
    urls = "\n".join(f"""  <url>
    <loc>{e(base + p.url)}</loc>
    <lastmod>{p.article.published}</lastmod>
    <news:news>
      <news:publication><news:name>{e(site.name)}</news:name><news:language>{site.language}</news:language></news:publication>
      <news:publication_date>{p.article.published}</news:publication_date>
      <news:title>{e(p.article.title)}</news:title>
    </news:news>
  </url>""" for p in items)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
{urls}
</urlset>
""".encode()


FEED_PATHS: dict[FeedKind, str] = {"rss": "/rss.xml", "atom": "/atom.xml", "sitemap": "/sitemap.xml"}
_FEED_TYPES: dict[FeedKind, str] = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "sitemap": "application/xml; charset=utf-8",
}


def robots_txt(site: HostSite, base: str) -> bytes:
    lines = ["User-agent: *", "Disallow: /private/"]
    if site.crawl_delay:
        lines.append(f"Crawl-delay: {site.crawl_delay:g}")
    lines.append(f"Sitemap: {base}/sitemap.xml" if site.feed == "sitemap" else "")
    return ("\n".join(lines).strip() + "\n").encode()


def build_pages(hc: HostContent, port: int, *, visible: int | None = None) -> dict[str, Page]:
    """Every path the host serves, with the feed listing its ``visible`` newest articles."""
    site = hc.site
    base = _base(site, port)
    shown = hc.articles if visible is None else hc.articles[:visible]
    newest = sorted(shown, key=lambda p: p.article.published, reverse=True)
    pages: dict[str, Page] = {}
    for i, p in enumerate(shown):
        others = [o for o in newest if o is not p]
        body = article_html(Published(p.url, p.article, p.author), site,
                            [Published(base + o.url, o.article, o.author) for o in others[i % 3:]])
        pages[p.url] = Page("text/html; charset=utf-8", body, _etag(body))
    feed = {"rss": rss, "atom": atom, "sitemap": sitemap}[site.feed](site, newest, base)
    last = _http_date(newest[0].article.published) if newest else None
    pages[FEED_PATHS[site.feed]] = Page(_FEED_TYPES[site.feed], feed, _etag(feed), last)
    pages["/robots.txt"] = Page("text/plain; charset=utf-8", robots_txt(site, base),
                                _etag(b"robots"))
    index = "".join(f'<li><a href="{html.escape(p.url)}">{html.escape(p.article.title)}</a></li>'
                    for p in newest)
    home = f"<!DOCTYPE html><html><body><h1>{html.escape(site.name)}</h1><ul>{index}</ul></body></html>"
    pages["/"] = Page("text/html; charset=utf-8", home.encode(), _etag(home.encode()))
    return pages


def feed_url(site: HostSite, port: int) -> str:
    return _base(site, port) + FEED_PATHS[site.feed]


def public_urls(content: Iterable[HostContent], ports: dict[str, int]) -> dict[str, Published]:
    """Absolute article URL -> what was published there."""
    out: dict[str, Published] = {}
    for hc in content:
        base = _base(hc.site, ports[hc.site.host])
        for p in hc.articles:
            out[base + p.url] = p
    return out


__all__ = ["FeedKind", "HostContent", "HostSite", "Page", "Published", "SourceSite",
           "article_html", "atom", "bench_hosts", "build_pages", "demo_hosts", "feed_url",
           "layout_bench", "layout_demo", "public_urls", "robots_txt", "rss", "sitemap"]
