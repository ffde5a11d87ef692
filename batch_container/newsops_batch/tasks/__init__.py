"""Task kinds: each turns a list of articles into one output dict per article, in order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from chalicelib.schema import Article, TaskSpec
from newsops_batch.errors import PermanentError


class TaskRunner(Protocol):
    def run(self, articles: Sequence[Article]) -> list[dict[str, Any] | Exception]:
        """One output per article in input order; an Exception quarantines that article only."""


def load_runner(spec: TaskSpec) -> TaskRunner:
    if spec.kind == "embedding":
        from newsops_batch.tasks.embedding import EmbeddingRunner

        return EmbeddingRunner(spec)
    raise PermanentError(f"task kind {spec.kind!r} is not available in this image")


def article_text(article: Article) -> str:
    """The text every task sees: title and body, as a reader meets them."""
    return f"{article.title}\n\n{article.body}"
