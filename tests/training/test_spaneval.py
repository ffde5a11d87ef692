"""The one span evaluation: figures worked out by hand on a small fixture."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from newsops_batch.labelled import LabelledDataError, load, split_by_group
from newsops_batch.spaneval import MISSED, SPURIOUS, Example, Span, score

C, P, L = "法人名", "人名", "地名"


def hand_fixture() -> list[Example]:
    # text 1: gold company (0,4), person (10,13); predicted company (0,4) exact, person (10,12)
    #         (overlap only), spurious company (20,24).
    # text 2: gold company (5,9) and company (12,16); predicted (5,9) as a place (type confusion)
    #         and (12,15) company (overlap only).
    # text 3 (en): gold company (0,6); predicted company (0,6).
    return [
        Example(gold=[Span(0, 4, C), Span(10, 13, P)],
                predicted=[Span(0, 4, C), Span(10, 12, P), Span(20, 24, C)], language="ja"),
        Example(gold=[Span(5, 9, C), Span(12, 16, C)],
                predicted=[Span(5, 9, L), Span(12, 15, C)], language="ja"),
        Example(gold=[Span(0, 6, C)], predicted=[Span(0, 6, C)], language="en"),
    ]


def test_exact_overlap_per_type_and_language_match_the_hand_worked_figures() -> None:
    report = score(hand_fixture()).as_dict()
    # Companies: gold 4 (t1:1, t2:2, t3:1); predicted 4 (t1:2, t2:1, t3:1).
    # Exact hits: (0,4) in t1, (0,6) in t3 -> tp 2, fp 2, fn 2 -> P 0.5, R 0.5, F1 0.5.
    assert report["types"][C] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "tp": 2, "fp": 2, "fn": 2}
    # Overlap adds (12,15)~(12,16): tp 3, fp 1, fn 1 -> 0.75 each.
    assert report["overlap"][C]["f1"] == 0.75
    assert (report["overlap"][C]["tp"], report["overlap"][C]["fp"], report["overlap"][C]["fn"]) == (3, 1, 1)
    # Person: (10,12) vs (10,13) -> no exact hit: P 0, R 0; overlap 1.0.
    assert report["types"][P] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "tp": 0, "fp": 1, "fn": 1}
    assert report["overlap"][P]["f1"] == 1.0
    # Place: one spurious exact prediction.
    assert report["types"][L]["fp"] == 1 and report["types"][L]["tp"] == 0
    # Micro over all types: tp 2, fp 4, fn 3 -> P 1/3, R 0.4, F1 2*2/(4+4+3) = 0.3636.
    assert report["micro"] == {"precision": 0.3333, "recall": 0.4, "f1": 0.3636, "tp": 2, "fp": 4, "fn": 3}
    # Per language: English alone is perfect; Japanese companies tp 1, fp 2, fn 2.
    assert report["languages"]["en"]["types"][C]["f1"] == 1.0
    assert report["languages"]["ja"]["types"][C] == {"precision": 0.3333, "recall": 0.3333, "f1": 0.3333,
                                                     "tp": 1, "fp": 2, "fn": 2}
    # Confusions: the company at (5,9) was called a place; the company (20,24) overlaps no gold.
    assert report["confusions"][C] == {L: 1}
    assert report["confusions"][SPURIOUS] == {C: 1}
    assert MISSED not in report["confusions"].get(C, {})
    assert report["texts"] == 3


def test_types_the_model_cannot_emit_are_not_charged() -> None:
    report = score(hand_fixture(), types={C}).as_dict()
    assert set(report["types"]) == {C}
    assert report["types"][C]["tp"] == 2 and report["types"][C]["fn"] == 2


def test_a_missed_span_is_counted_as_missed() -> None:
    report = score([Example(gold=[Span(0, 3, C)], predicted=[])]).as_dict()
    assert report["confusions"] == {C: {MISSED: 1}}
    assert report["types"][C]["recall"] == 0.0


def write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return path


def test_labelled_file_loads_and_names_every_bad_line(tmp_path: Path) -> None:
    good = write(tmp_path / "good.jsonl", [
        {"curid": "1", "text": "トヨタ自動車の社長", "entities": [{"name": "トヨタ自動車", "span": [0, 6], "type": C}]},
        {"text": "Sony rose", "entities": [{"span": [0, 4], "type": C}], "language": "en"}])
    data = load(good)
    assert [t.language for t in data.texts] == ["ja", "en"]
    assert data.texts[0].spans == (Span(0, 6, C),) and data.span_count(C) == 2
    bad = write(tmp_path / "bad.jsonl", [
        {"text": "abc", "entities": [{"span": [0, 9], "type": C}]},
        {"text": "abcdef", "entities": [{"span": [0, 3], "type": C}, {"span": [2, 5], "type": P}]},
        {"text": "abc", "entities": [{"name": "xy", "span": [0, 2], "type": C}]},
        {"entities": []}])
    with pytest.raises(LabelledDataError) as err:
        load(bad)
    message = str(err.value)
    for needle in ("line 1", "outside the text", "line 2", "overlap", "line 3", "not its name", "line 4"):
        assert needle in message


def test_dev_fraction_keeps_each_group_on_one_side_and_is_stable(tmp_path: Path) -> None:
    rows = [{"curid": str(i // 2), "text": f"文{i}", "entities": []} for i in range(200)]
    data = load(write(tmp_path / "d.jsonl", rows))
    train, dev = split_by_group(data, 0.2)
    assert {t.group for t in train.texts}.isdisjoint({t.group for t in dev.texts})
    assert 20 <= len(dev.texts) <= 60
    assert split_by_group(data, 0.2)[1].texts == dev.texts
