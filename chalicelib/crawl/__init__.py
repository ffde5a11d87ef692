"""The crawler: polite, address-safe news crawling into a raw-HTML archive and one batch per run.

Entry points
    ``crawler.crawl(rt, sources, *, budget_s, now=None)``: the scheduled handler's call
    (uses ``rt.store`` and ``rt.ledger``); ``crawler.crawl_into(store, ledger, sources, ...)``
    takes the ports directly. ``sources.load_sources(path=None)`` reads
    ``chalicelib/config/sources.json`` (the bundled demo site) or another file.

One run
    feeds/sitemaps (conditional GET with the ETag/Last-Modified kept in the ledger) ->
    new article URLs (canonical URL -> id; ids already crawled are dropped) -> pages, at
    most 1-2 per host at once, robots.txt and Crawl-delay honoured -> raw HTML gzipped to
    ``raw/YYYY/MM/DD/<sha256 of canonical url>.html.gz`` -> trafilatura (feed summary as
    fallback) -> SimHash near-duplicates dropped -> one ``incoming/<day>/<crawl id>.jsonl.gz``
    in a single PUT. Work left when the budget ends is kept per source for the next run.

Ledger namespaces
    ``crawl-source`` (validators + pending work per source), ``crawl-seen`` (article ids,
    256 shards), ``crawl-simhash`` (fingerprints per day), ``crawl-report`` (one report per
    crawl, key = crawl id, which sorts by time).

Safety
    Every hop resolves its host once, refuses the host if ANY address is loopback, private,
    link-local, multicast, reserved or a cloud-metadata endpoint (unless the source's
    ``allow_networks`` covers it; metadata never), then connects to that vetted address
    with the original Host header and TLS name: a second DNS answer is never used.
"""
