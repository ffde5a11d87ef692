"""Errors of the search adapters that callers (the CLI, the HTTP handler, the index step) handle."""

from __future__ import annotations


class SearchConfigError(ValueError):
    """The search settings cannot work as given (a missing URL, a client/product mismatch)."""


class SearchBackendError(RuntimeError):
    """The search cluster refused an operation the adapter cannot work around."""
