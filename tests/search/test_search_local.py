"""The embedded engine's own concerns: CJK bigrams, threads, persistence, re-tokenising."""

from __future__ import annotations

import copy
import random
import re
import sqlite3
import threading
import unicodedata

import pytest

from chalicelib.search.base import SearchQuery
from chalicelib.search.fts import index_text, match_expression, split_terms
from chalicelib.search.local import LocalSearchIndex
from tests.search.search_corpus import CORPUS


def test_cjk_runs_become_bigrams_and_latin_text_is_left_to_fts5():
    assert index_text("自動車") == " 自動 動車 "
    assert index_text("トヨタがEV新型") == " トヨ ヨタ タが EV 新型 "
    assert index_text("Acme acquires Widget") == "Acme acquires Widget"
    # NFKC first: half-width katakana and full-width Latin are the same words as their usual forms.
    assert index_text("ﾄﾖﾀ") == index_text("トヨタ")
    assert index_text("ＡＣＭＥ") == "ACME"
    # Punctuation ends a run, as it does for the clusters' cjk_bigram filter.
    assert index_text("決算、買収") == " 決算 、 買収 "


def _bigrams_one_run_at_a_time(text: str) -> str:
    """index_text() as it was written first (a regex and a join per CJK run): the reference."""
    from chalicelib.search.fts import _CJK

    def spell(run: str) -> str:
        return " ".join(run[i:i + 2] for i in range(len(run) - 1)) if len(run) > 1 else run

    return re.sub(f"[{_CJK}]+", lambda m: f" {spell(m.group())} ", unicodedata.normalize("NFKC", text))


def test_long_texts_take_the_vectorised_path_and_spell_the_same_tokens():
    # Bodies (over 128 characters) are rewritten with numpy; every kind of run edge must come
    # out exactly as the per-run spelling does, or a contentless delete would miss its tokens.
    rnd = random.Random(5)
    alphabet = "ab Z9 é決算自動車販売機と電動車ｶﾀｶﾅー。、한국\ud800\U00020000\n"
    texts = ["決" * 200, "a" * 199 + "決", "決" + "a" * 199, ("決a" * 100), ("決算 " * 60),
             "x" * 300, "é" * 300, "自動販売機と電動車" * 20]
    texts += ["".join(rnd.choices(alphabet, k=rnd.randint(128, 600))) for _ in range(300)]
    for text in texts:
        assert len(unicodedata.normalize("NFKC", text)) >= 128
        assert index_text(text) == _bigrams_one_run_at_a_time(text), text


def test_queries_are_phrases_that_must_all_match():
    assert match_expression("自動車") == '"自動 動車"'
    assert match_expression('決算 "all-stock deal"') == '"決算" AND "all-stock deal"'
    assert match_expression('a"b') == '"a b"'  # a stray quote never reaches FTS5's syntax
    assert match_expression("!!! ...") is None
    assert split_terms('Acme "big merger" 買収 -') == ["Acme", "big merger", "買収"]


def test_fts5_operators_in_user_text_are_plain_words(tmp_path):
    index = LocalSearchIndex(tmp_path / "s.sqlite3", dims=4)
    index.index([{"id": "x", "title": "NOT AND OR NEAR", "body": "title: body*"}])
    for text in ("NOT", "AND OR", "NEAR(", "title:", "body*", "-x", "^x", "(a"):
        index.search(SearchQuery(text=text))  # none of these may raise a syntax error
    assert [h["id"] for h in index.search(SearchQuery(text="near")).hits] == ["x"]


def test_a_text_without_words_lists_everything(tmp_path):
    index = LocalSearchIndex(tmp_path / "s.sqlite3", dims=4)
    index.index(copy.deepcopy(CORPUS))
    assert index.search(SearchQuery(text="!!!")).total == len(CORPUS)


def test_the_index_survives_a_reopen(tmp_path):
    path = tmp_path / "s.sqlite3"
    LocalSearchIndex(path, dims=4).index(copy.deepcopy(CORPUS))
    again = LocalSearchIndex(path, dims=4)
    assert again.count() == len(CORPUS)
    assert [h["id"] for h in again.search(SearchQuery(similar_to="a", size=1)).hits] == ["b"]
    with pytest.raises(ValueError, match="holds 4-dimensional vectors, not 384"):
        LocalSearchIndex(path, dims=384)


def test_an_index_built_by_older_tokenising_code_is_rebuilt_on_open(tmp_path):
    path = tmp_path / "s.sqlite3"
    LocalSearchIndex(path, dims=4).index(copy.deepcopy(CORPUS))
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = '0' WHERE key = 'text_version'")
        conn.execute("INSERT INTO fts(fts) VALUES ('delete-all')")  # as if the old tokens were useless
    index = LocalSearchIndex(path, dims=4)
    assert {h["id"] for h in index.search(SearchQuery(text="自動車")).hits} == {"a", "f"}


def test_the_vector_cache_sees_new_documents(tmp_path):
    index = LocalSearchIndex(tmp_path / "s.sqlite3", dims=4)
    index.index(copy.deepcopy(CORPUS))
    assert index.search(SearchQuery(similar_to="a", size=1)).hits[0]["id"] == "b"
    index.index([{"id": "twin", "title": "twin of a", "embedding": [1.0, 0.0, 0.0, 0.0]}])
    assert index.search(SearchQuery(similar_to="a", size=1)).hits[0]["id"] == "twin"
    # Written by another process (another instance on the same file): seen as well.
    other = LocalSearchIndex(tmp_path / "s.sqlite3", dims=4)
    other.index([{"id": "a", "title": "moved", "embedding": [0.0, 0.0, 0.0, 1.0]}])
    assert index.search(SearchQuery(similar_to="twin", size=1)).hits[0]["id"] != "a"


def test_threads_index_and_search_at_the_same_time(tmp_path):
    index = LocalSearchIndex(tmp_path / "s.sqlite3", dims=4, batch_docs=10)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            docs = ({"id": f"w{n}-{i}", "title": f"決算 report {i}", "body": "earnings",
                     "source": f"s{n}", "embedding": [1.0, float(i), 0.0, 0.0]} for i in range(200))
            outcome = index.index(docs)
            assert outcome.indexed == 200
        except BaseException as e:  # surfaced in the main thread below
            errors.append(e)

    def reader() -> None:
        try:
            for _ in range(50):
                index.search(SearchQuery(text="決算", facets=True))
                index.search(SearchQuery(similar_to="w0-1"))
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    threads += [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert index.count() == 600
    assert index.search(SearchQuery(text="決算", source="s1")).total == 200
