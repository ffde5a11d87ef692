from __future__ import annotations

import pytest
from newsops_batch.companynames import Mention, company_key, merge_mentions, normalize_company
from newsops_batch.segments import paragraphs


@pytest.mark.parametrize("name,normalized", [
    ("Northwind Holdings Inc.", "Northwind Holdings"),
    ("Meridian Bank plc", "Meridian Bank"),
    ("Foo Industries Co., Ltd.", "Foo Industries"),
    ("Lindqvist Engineering AB", "Lindqvist Engineering"),
    ("Harrowgate Retail Group", "Harrowgate Retail Group"),
    ("Castleton Energy's", "Castleton Energy"),
    ("Inc.", "Inc."),
    ("東和電機株式会社", "東和電機"),
    ("株式会社山城製作所", "山城製作所"),
    ("(株)青葉", "青葉"),
    ("ＡＢＣ株式会社", "ABC"),
])
def test_legal_forms_are_dropped(name, normalized):
    assert normalize_company(name) == normalized


def test_mentions_merge_per_company_keeping_the_longest_spelling_and_first_offsets():
    ms = [Mention("Northwind Holdings", "ORG", 50, 68, 0.8),
          Mention("Northwind Holdings Inc.", "ORG", 10, 33, 0.9),
          Mention("northwind holdings", "ORG", 90, 108, None),
          Mention("Meridian Bank plc", "ORG", 120, 137, 0.7)]
    out = merge_mentions(ms)
    assert [c["normalized"] for c in out] == ["Northwind Holdings", "Meridian Bank"]
    assert out[0] == {"name": "Northwind Holdings Inc.", "normalized": "Northwind Holdings",
                      "label": "ORG", "start": 10, "end": 33, "score": 0.9, "mentions": 3}
    assert company_key("NORTHWIND HOLDINGS INC") == company_key("Northwind Holdings")


def test_paragraphs_keep_offsets_and_cut_long_ones_at_sentence_ends():
    text = "Title\n\n" + "One sentence here. " * 10 + "\nlast"
    pieces = list(paragraphs(text, 50))
    assert all(len(p) <= 50 for _, p in pieces)
    assert all(text[o:o + len(p)] == p for o, p in pieces)
    assert pieces[0] == (0, "Title") and pieces[-1][1] == "last"
    assert pieces[1][1].endswith(". ")
