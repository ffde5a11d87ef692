"""Language identification by a real offline library (py3langid) and routing by language:
an article in a language a task has no model for is skipped with its reason, or goes to the
language the task config names (``options.other_languages``), never silently to English."""

from __future__ import annotations

import pytest
from newsops_batch.errors import PermanentError
from newsops_batch.tasks import load_runner, routed_language
from pydantic import ValidationError

from chalicelib.contract import keys
from chalicelib.contract.schema import Article
from chalicelib.jsonl import decode
from chalicelib.language import detect_language
from tests.conftest import fake_task
from tests.inference.tinymodels import article
from tests.pipeline_support import jsonl_gz, put_incoming

NEWS = {
    "fr": ("Renault relève ses prévisions annuelles",
           "Le constructeur automobile a annoncé mardi une hausse de 12 % de son bénéfice net au "
           "troisième trimestre, portée par la demande en Europe et la baisse des coûts de production."),
    "de": ("Siemens übertrifft die Erwartungen",
           "Der Münchner Technologiekonzern hat im dritten Quartal mehr verdient als von Analysten "
           "erwartet, teilte das Unternehmen am Donnerstag in München mit."),
    "es": ("Telefónica eleva su beneficio",
           "La operadora registró un beneficio neto de 500 millones de euros en el tercer trimestre "
           "gracias al crecimiento de sus negocios en Brasil y Alemania."),
    "en": ("Northwind Holdings beats estimates",
           "Northwind Holdings reported a 12% rise in quarterly profit on Tuesday, beating analyst "
           "estimates as demand in Europe recovered."),
    "ja": ("トヨタ、純利益12%増", "トヨタ自動車は火曜日、第3四半期の純利益が前年同期比12%増加したと発表した。"),
    "zh": ("阿里巴巴第三季度利润增长", "阿里巴巴集团周二公布第三季度净利润同比增长百分之十二。"),
}


@pytest.mark.parametrize("language", sorted(NEWS))
def test_news_languages_are_told_apart(language: str) -> None:
    title, body = NEWS[language]
    assert detect_language(f"{title}\n{body}") == language


@pytest.mark.parametrize("text", ["", "12345 678", "x", "Story 4", "!!! ??? ..."])
def test_text_without_enough_language_is_undetermined_not_english(text: str) -> None:
    assert detect_language(text) == "und"


def test_an_article_without_a_language_field_gets_the_detected_one() -> None:
    title, body = NEWS["de"]
    assert Article(url="https://n.example/de", title=title, body=body).language == "de"
    # A language the input gives is kept as it is.
    assert Article(url="https://n.example/x", title=title, body=body, language="en").language == "en"


def test_ingest_writes_the_detected_language_into_the_chunks(make_runtime) -> None:
    rt = make_runtime(tasks=[fake_task("alpha")], chunk_size=10)
    records = [{"url": f"https://n.example/{lang}", "title": t, "body": b} for lang, (t, b) in sorted(NEWS.items())]
    _, rid = put_incoming(rt, "languages.jsonl.gz", jsonl_gz(records))
    lines = decode(rt.store.get(keys.chunk(rid, 0)))
    assert {line["url"].rsplit("/", 1)[1]: line["language"] for line in lines} == {k: k for k in NEWS}


def _fr() -> Article:
    title, body = NEWS["fr"]
    return article(1, body, title=title, language=detect_language(f"{title}\n{body}"))


def test_routing_by_the_task_config(spec_for) -> None:
    fr, en, ja = _fr(), article(2, "profit rose", language="en"), article(3, "利益", language="ja")
    everything = spec_for("embedding", "none")
    assert [routed_language(everything, a) for a in (fr, en, ja)] == ["fr", "en", "ja"]
    skip = spec_for("embedding", "none", languages=["en", "ja"])
    assert [routed_language(skip, a) for a in (fr, en, ja)] == [None, "en", "ja"]
    to_en = spec_for("embedding", "none", languages=["en"], options={"other_languages": "en"})
    assert [routed_language(to_en, a) for a in (fr, en, ja)] == ["en", "en", "en"]


def test_a_french_article_is_skipped_with_its_reason_by_an_english_zero_shot_task(tiny_models, spec_for) -> None:
    labels = {"energy": "oil gas power solar wind energy", "labor": "workers union wages strike jobs"}
    spec = spec_for("zero-shot", tiny_models["embedding"], languages=["en"], options={"labels": labels})
    fr, en = _fr(), article(2, labels["energy"], language="en")
    out = load_runner(spec).run([fr, en])
    assert out[0]["label"] is None and "language 'fr' is not handled" in out[0]["skipped"]
    assert out[1]["label"] == "energy" and "skipped" not in out[1] and "processed_as" not in out[1]


def test_a_named_default_language_runs_and_is_recorded(tiny_models, spec_for) -> None:
    spec = spec_for("embedding", tiny_models["embedding"], languages=["en"], options={"other_languages": "en"})
    fr, en = _fr(), article(2, "profit rose", language="en")
    out = load_runner(spec).run([fr, en])
    assert out[0]["embedding"] and out[0]["processed_as"] == "en"
    assert out[1]["embedding"] and "processed_as" not in out[1]


def test_a_default_language_the_task_has_no_model_for_is_refused(spec_for) -> None:
    # Refused when the task config is read (TaskSpec), before any job would meet it...
    with pytest.raises(ValidationError, match="other_languages"):
        spec_for("embedding", "none", languages=["en"], options={"other_languages": "fr"})
    # ...and by the job too, for a spec that reached it some other way.
    spec = spec_for("embedding", "none", languages=["en"]).model_copy(
        update={"options": {"other_languages": "fr"}})
    with pytest.raises(PermanentError, match="other_languages"):
        load_runner(spec)


def test_the_shipped_config_routes_no_foreign_article_silently_to_english() -> None:
    from chalicelib.contract.taskconfig import load_tasks

    fr = _fr()
    for spec in load_tasks().tasks:
        routed = routed_language(spec, fr)
        assert spec.languages is not None, f"{spec.name}: a task must say which languages its models are for"
        assert routed is None or (routed == spec.options.get("other_languages") and routed in spec.languages), \
            (spec.name, routed)
