"""One table of task kinds (chalicelib/contract/taskkinds.py): each kind's runner exists in the
job's package, and its document field exists in the search index mapping."""

import importlib
import typing

from chalicelib.contract.schema import TaskKind
from chalicelib.contract.taskkinds import TASK_KINDS, kinds_for
from chalicelib.search import mapping


def test_every_kind_has_a_runner_and_a_mapped_document_field():
    properties = mapping.mappings("opensearch", 384)["properties"]
    for kind, info in TASK_KINDS.items():
        module, _, name = info.runner.partition(":")
        assert hasattr(importlib.import_module(f"newsops_batch.tasks.{module}"), name), kind
        assert info.field in properties, kind
    assert set(typing.get_args(TaskKind)) == set(TASK_KINDS)
    assert kinds_for("companies") == ("token-classification", "spacy-ner", "char-ner")
