"""The API boundary: query parameters to SearchQuery (or a 400 message), SearchResult to JSON."""

from __future__ import annotations

import json
from datetime import date

import pytest

from chalicelib.search.api import InvalidSearchParams, parse_search_params, result_to_json
from chalicelib.search.base import SearchQuery, SearchResult


def test_all_parameters():
    q = parse_search_params({
        "q": " 決算 ", "company": "Toyota Motor", "category": "earnings", "source": "nikkei",
        "language": "ja", "run_id": "r1", "date_from": "2024-01-01", "date_to": "2024-01-31",
        "size": "25", "offset": "50", "facets": "true",
    })
    assert q == SearchQuery(text="決算", company="Toyota Motor", category="earnings",
                            source="nikkei", language="ja", run_id="r1",
                            date_from=date(2024, 1, 1), date_to=date(2024, 1, 31),
                            size=25, offset=50, facets=True)


def test_defaults_and_empty_values():
    assert parse_search_params({}) == SearchQuery()
    assert parse_search_params(None) == SearchQuery()
    assert parse_search_params({"company": "", "q": " "}) == SearchQuery()  # a blank text field
    with pytest.raises(InvalidSearchParams, match="size"):
        parse_search_params({"size": ""})  # a blank number is a mistake, as the API document says
    assert parse_search_params({"similar_to": "abc"}).similar_to == "abc"


@pytest.mark.parametrize(("params", "message"), [
    ({"query": "x"}, "unknown parameter query; allowed: q, company"),
    ({"foo": "1", "bar": "2"}, "unknown parameters bar, foo"),
    ({"size": "0"}, "size: Input should be greater than or equal to 1"),
    ({"size": "101"}, "size: Input should be less than or equal to 100"),
    ({"size": "ten"}, "size: Input should be a valid integer"),
    ({"offset": "-1"}, "offset: Input should be greater than or equal to 0"),
    ({"offset": "9995", "size": "10"}, "offset + size must be at most 10000"),
    ({"date_from": "2024-02-30"}, "date_from: Input should be a valid date"),
    ({"date_to": "1700000000"}, "date_to: expected a day as YYYY-MM-DD"),
    ({"date_from": "2024-02-01", "date_to": "2024-01-01"}, "date_from is after date_to"),
    ({"facets": "maybe"}, "facets: Input should be a valid boolean"),
    ({"language": "japanese!"}, "language: String should match pattern"),
    ({"q": "x" * 501}, "q: String should have at most 500 characters"),
    ({"q": "acme", "similar_to": "a"}, "cannot be combined with q"),
])
def test_bad_parameters_are_refused_with_a_message(params, message):
    with pytest.raises(InvalidSearchParams) as err:
        parse_search_params(params)
    assert message in str(err.value)
    assert isinstance(err.value, ValueError)  # handlers map ValueError to 400


def test_result_to_json():
    result = SearchResult(total=3, hits=[{"id": "a", "title": "t", "score": 1.5}],
                          facets={"companies": [("Acme", 2)], "days": [("2024-01-02", 1)]},
                          took_ms=1.23456)
    body = result_to_json(result)
    assert body == {"total": 3, "took_ms": 1.23, "hits": [{"id": "a", "title": "t", "score": 1.5}],
                    "facets": {"companies": [{"key": "Acme", "count": 2}],
                               "days": [{"key": "2024-01-02", "count": 1}]}}
    json.dumps(body)  # serialisable as is
