"""The crawler: polite, address-safe news crawling into a raw-HTML archive and one batch per run.

Entry points: :func:`chalicelib.crawl.crawler.crawl` (with a Runtime) and
:func:`chalicelib.crawl.crawler.crawl_into` (with the ports), and
:func:`chalicelib.crawl.sources.load_sources` for the source config.
"""
