"""Failures of a job attempt, by whether another attempt can help (docs/design.md §10)."""

from __future__ import annotations


class PermanentError(Exception):
    """Another attempt cannot help: missing or corrupt input or model, bad configuration."""


class RetryableError(Exception):
    """Another attempt may help: throttling, a network blip, a reclaimed or overloaded host."""
