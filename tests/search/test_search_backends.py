"""One behaviour, three engines: the local engine, osmem via opensearch-py, osmem via elasticsearch-py."""

from __future__ import annotations

import copy
from datetime import date

import pytest

from chalicelib.search.base import SearchQuery
from tests.search.search_corpus import CORPUS


def ids(result) -> set[str]:
    return {h["id"] for h in result.hits}


@pytest.fixture
def corpus_index(make_index):
    index = make_index()
    outcome = index.index(copy.deepcopy(CORPUS))
    assert outcome.indexed == len(CORPUS) and not outcome.failed
    return index


def test_reindexing_the_same_articles_overwrites_never_duplicates(make_index):
    index = make_index()
    first = index.index(copy.deepcopy(CORPUS))
    changed = copy.deepcopy(CORPUS)
    changed[0]["title"] = "トヨタが新型車を公開"
    changed[0]["body"] = "トヨタは新型車を公開した。"
    changed[0]["run_id"] = "r3"
    second = index.index(iter(changed))  # any iterable, consumed once
    assert (first.indexed, second.indexed) == (len(CORPUS), len(CORPUS))
    assert second.received == len(CORPUS) and second.reconciled
    assert index.count() == len(CORPUS)
    assert index.count(run_id="r3") == 1 and index.count(run_id="r1") == 2
    assert index.get("a")["title"] == "トヨタが新型車を公開"
    assert ids(index.search(SearchQuery(text="新型車"))) == {"a"}
    assert ids(index.search(SearchQuery(text="決算"))) == set()  # the old text is gone


def test_the_same_article_twice_in_one_input_is_stored_once(make_index):
    index = make_index()
    first = {"id": "dup", "title": "第一報 決算", "body": "first"}
    second = {"id": "dup", "title": "続報 買収", "body": "second"}
    outcome = index.index([first, second, {"id": "other", "title": "x"}])
    assert outcome.indexed == 3 and outcome.reconciled
    assert index.count() == 2
    assert index.get("dup")["title"] == "続報 買収"
    assert ids(index.search(SearchQuery(text="買収"))) == {"dup"}
    assert ids(index.search(SearchQuery(text="決算"))) == set()


def test_get_returns_the_stored_document(corpus_index):
    doc = corpus_index.get("c")
    assert doc["title"] == "Acme announces merger"
    assert doc["companies"][0] | {"score": None} == {
        "name": "Acme Corp", "normalized": "Acme", "label": "ORG", "start": 0, "end": 9, "score": None}
    assert doc["category"]["label"] == "m&a"
    assert doc["embedding"] == pytest.approx([0.0, 1.0, 0.0, 0.0])
    assert doc["published"].startswith("2024-01-03T12:00:00")
    assert corpus_index.get("no-such-article") is None


@pytest.mark.parametrize(("text", "expected"), [
    ("決算", {"a"}),            # a 2-character word inside a longer run of kanji and kana
    ("買収", {"b", "f"}),
    ("自動車", {"a", "f"}),      # not b: 自動販売機と電動車 has 自動 and 動車, never adjacent
    ("自動販売機", {"b"}),
    ("トヨタ 決算", {"a"}),      # every term must match
    ("merger", {"c"}),
    ("mergers", {"c"}),          # English stemming
    ("acquire", {"c"}),
    ("earnings", {"d"}),
    ('"all-stock deal"', {"c"}),  # a quoted phrase
    ("globex earnings", {"d"}),
    ("nothing-like-this", set()),
])
def test_full_text_in_english_and_japanese(corpus_index, text, expected):
    result = corpus_index.search(SearchQuery(text=text))
    assert ids(result) == expected
    assert result.total == len(expected)


@pytest.mark.parametrize(("query", "expected"), [
    (SearchQuery(company="toyota motor"), {"a"}),           # normalised name, any case
    (SearchQuery(company="Acme"), {"c", "d"}),
    (SearchQuery(company="acme corp."), {"d"}),             # the surface form also works
    (SearchQuery(category="earnings"), {"a", "d"}),
    (SearchQuery(source="reuters"), {"c", "d"}),
    (SearchQuery(language="ja"), {"a", "b", "f"}),
    (SearchQuery(run_id="r1"), {"a", "b", "f"}),
    # Days are UTC: b was published 08:30 in Tokyo on the 3rd, 23:30 UTC on the 2nd.
    (SearchQuery(date_from=date(2024, 1, 3), date_to=date(2024, 1, 3)), {"c"}),
    (SearchQuery(date_from=date(2024, 1, 4)), {"d", "f"}),
    (SearchQuery(date_to=date(2024, 1, 2)), {"a", "b"}),
    (SearchQuery(text="earnings", source="reuters"), {"d"}),
    (SearchQuery(text="買収", category="economy"), {"f"}),
    (SearchQuery(company="Acme", category="m&a", source="reuters", language="en"), {"c"}),
])
def test_filters(corpus_index, query, expected):
    query.size = 20
    result = corpus_index.search(query)
    assert ids(result) == expected
    assert result.total == len(expected)


def test_no_text_lists_newest_first_and_pages(corpus_index):
    first = corpus_index.search(SearchQuery(size=2))
    second = corpus_index.search(SearchQuery(size=2, offset=2))
    last = corpus_index.search(SearchQuery(size=10, offset=4))
    order = [h["id"] for h in first.hits + second.hits + last.hits]
    assert order == ["d", "f", "c", "b", "a", "e"]  # undated last
    assert first.total == second.total == len(CORPUS)
    hit = first.hits[0]
    assert "body" not in hit and "embedding" not in hit
    assert hit["snippet"].startswith("Globex reported") and hit["url"] == "https://example.com/d"


def test_facets(corpus_index):
    result = corpus_index.search(SearchQuery(facets=True))
    assert result.facets["companies"][0] == ("Acme", 2)
    assert set(result.facets["companies"]) == {("Acme", 2), ("Toyota Motor", 1), ("Widget", 1),
                                               ("Globex", 1)}
    assert result.facets["categories"][0] == ("earnings", 2)
    assert set(result.facets["categories"]) == {("earnings", 2), ("tech", 1), ("m&a", 1),
                                                ("economy", 1)}
    assert result.facets["sources"][:2] == [("nikkei", 2), ("reuters", 2)]
    assert result.facets["days"] == [("2024-01-02", 2), ("2024-01-03", 1), ("2024-01-04", 1),
                                     ("2024-01-05", 1)]


def test_facets_follow_the_query(corpus_index):
    result = corpus_index.search(SearchQuery(text="買収", facets=True))
    assert result.facets["categories"] == [("economy", 1), ("tech", 1)]
    assert result.facets["companies"] == []
    assert result.facets["sources"] == [("asahi", 1), ("nikkei", 1)]


def test_similar_articles(corpus_index):
    result = corpus_index.search(SearchQuery(similar_to="a", size=3))
    ranked = [h["id"] for h in result.hits]
    assert ranked[0] == "b"  # cosine 0.99
    assert "a" not in ranked and "e" not in ranked  # not itself; e has no vector
    assert result.hits[0]["score"] > result.hits[-1]["score"]
    assert 0.99 < result.hits[0]["score"] <= 1.0  # (1 + cosine) / 2, as Elasticsearch scores it


def test_similar_articles_with_a_filter(corpus_index):
    result = corpus_index.search(SearchQuery(similar_to="c", source="nikkei", size=5))
    assert [h["id"] for h in result.hits] == ["b", "a"]  # b leans towards c's direction
    assert corpus_index.search(SearchQuery(similar_to="no-such-id")).hits == []
    assert corpus_index.search(SearchQuery(similar_to="e")).hits == []  # e has no vector


def test_every_document_is_indexed_or_reported_with_its_reason(make_index):
    index = make_index()
    docs = [
        *copy.deepcopy(CORPUS[:3]),
        {"title": "no id"},
        {"id": "bad-date", "title": "x", "published": "yesterday"},
        {"id": "bad-vector", "title": "x", "embedding": ["not", "numbers", 1, 2]},
        {"id": "nan-vector", "title": "x", "embedding": [float("nan"), 0.0, 0.0, 0.0]},
        {"id": "short-vector", "title": "x", "embedding": [0.5, 0.5]},  # the index holds 4-d
        "not an object",
        {"id": "sparse", "title": "only a title"},
    ]
    outcome = index.index(docs)
    reasons = {f["id"]: f["reason"] for f in outcome.failed}
    assert outcome.received == len(docs) and outcome.reconciled
    assert outcome.indexed == 4
    assert set(reasons) == {"<input #3>", "bad-date", "bad-vector", "nan-vector", "short-vector",
                            "<input #8>"}
    assert "id" in reasons["<input #3>"]
    assert "published" in reasons["bad-date"]
    assert "embedding" in reasons["bad-vector"] and "NaN" in reasons["nan-vector"]
    # Rejected by the engine itself (the cluster's mapping), with the engine's reason.
    assert "embedding" in reasons["short-vector"]
    assert index.count() == 4
    assert index.get("short-vector") is None and index.get("sparse")["title"] == "only a title"
