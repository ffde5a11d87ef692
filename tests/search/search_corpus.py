"""Six articles that exercise every search feature: English and Japanese text, companies,
categories, sources, days across a UTC boundary, vectors (4-d) and one sparse document."""

from __future__ import annotations

CORPUS = [
    {
        "id": "a", "url": "https://news.example.jp/a", "language": "ja", "source": "nikkei",
        "title": "トヨタが決算を発表", "body": "トヨタ自動車は第3四半期の決算を発表した。",
        "published": "2024-01-02T10:00:00+09:00", "run_id": "r1", "models": {"ner": "v1"},
        "companies": [{"name": "トヨタ自動車", "normalized": "Toyota Motor", "label": "ORG",
                       "start": 0, "end": 6, "score": 0.97}],
        "category": {"label": "earnings", "score": 0.91},
        "embedding": [1.0, 0.0, 0.0, 0.0],
    },
    {
        # 自動 and 動車 both occur here, but never as 自動車: the false positive to avoid.
        "id": "b", "url": "https://news.example.jp/b", "language": "ja", "source": "nikkei",
        "title": "自動販売機と電動車", "body": "駅前の自動販売機と電動車の充電器。買収の話はない。",
        "published": "2024-01-03T08:30:00+09:00", "run_id": "r1",
        "companies": [], "category": {"label": "tech", "score": 0.6},
        "embedding": [0.9, 0.1, 0.0, 0.0],
    },
    {
        "id": "c", "url": "https://example.com/c", "language": "en", "source": "reuters",
        "title": "Acme announces merger", "body": "Acme Corp acquires Widget Inc in an all-stock deal.",
        "published": "2024-01-03T12:00:00Z", "run_id": "r2",
        "companies": [{"name": "Acme Corp", "normalized": "Acme", "label": "ORG", "start": 0,
                       "end": 9, "score": 0.99},
                      {"name": "Widget Inc", "normalized": "Widget", "label": "ORG", "start": 19,
                       "end": 29, "score": 0.95}],
        "category": {"label": "m&a", "score": 0.88},
        "embedding": [0.0, 1.0, 0.0, 0.0],
    },
    {
        "id": "d", "url": "https://example.com/d", "language": "en", "source": "reuters",
        "title": "Globex quarterly earnings beat estimates",
        "body": "Globex reported earnings above forecasts; ACME Corp. shares rose too.",
        "published": "2024-01-05T09:00:00Z", "run_id": "r2",
        "companies": [{"name": "Globex", "normalized": "Globex", "label": "ORG", "start": 0,
                       "end": 6, "score": 0.9},
                      {"name": "ACME Corp.", "normalized": "Acme", "label": "ORG", "start": 42,
                       "end": 52, "score": 0.8}],
        "category": {"label": "earnings", "score": 0.7},
        "embedding": [0.0, 0.9, 0.1, 0.0],
    },
    {
        "id": "e", "url": "https://example.com/e", "title": "Market wrap", "body": "Stocks rose.",
        "source": "ap", "language": "en", "run_id": "r2",
    },
    {
        "id": "f", "url": "https://news.example.jp/f", "language": "ja", "source": "asahi",
        "title": "自動車販売が増加", "body": "国内の自動車販売は前年を上回った。大型の買収も相次ぐ。",
        "published": "2024-01-04T00:00:00Z", "run_id": "r1",
        "companies": [], "category": {"label": "economy", "score": 0.5},
        "embedding": [0.0, 0.0, 1.0, 0.0],
    },
]
