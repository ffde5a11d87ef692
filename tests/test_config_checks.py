"""Mistakes caught where they are made: a task option checked when the config is read, an SNS
subject the local run refuses as SNS would, a skipped article not scored as a miss."""

from __future__ import annotations

import json

import pytest

from chalicelib.asl import StatesError
from chalicelib.contract.taskconfig import TaskConfigError, load_tasks
from chalicelib.workflow.local import LocalTaskDispatcher
from newsops.evaluate import score_companies


def test_other_languages_is_checked_when_the_config_is_read(tmp_path):
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps({"tasks": [{"name": "companies", "kind": "spacy-ner", "model": "package:x",
                                           "languages": ["en"], "options": {"other_languages": "fr"}}]}))
    with pytest.raises(TaskConfigError, match='other_languages must be "skip" or one of its languages'):
        load_tasks(path)


def test_a_subject_sns_would_refuse_fails_the_local_publish_too():
    class Sink:
        def publish(self, alert):
            raise AssertionError("published")

    dispatch = LocalTaskDispatcher(compute=None, lambdas=None, alerts=Sink())  # type: ignore[arg-type]
    with pytest.raises(StatesError, match="at most 100"):
        dispatch._sns({"Subject": "x" * 101, "Message": "{}"})
    with pytest.raises(StatesError):
        dispatch._sns({"Subject": "two\nlines", "Message": "{}"})


def test_a_skipped_article_is_counted_apart_not_as_a_miss():
    truth = {"a": {"language": "fr", "companies": ["Danone"]}, "b": {"language": "en", "companies": ["Acme"]}}
    outputs = {"a": {"skipped": "no model for fr"}, "b": {"companies": [{"name": "Acme"}]}}
    scores = score_companies(outputs, truth)
    assert scores["fr"] == {"skipped": 1}
    assert scores["en"]["recall"] == 1.0 and scores["all"]["skipped"] == 1 and scores["all"]["recall"] == 1.0
