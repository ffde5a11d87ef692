"""SQLite on a full, read-only or failing disk: errors that name the file and the cause.

Both SQLite files of the local backend (the ledger, the search index) meet the same disk. A
write there can fail with "database or disk is full", "attempt to write a readonly database"
or "disk I/O error"; SQLite has then already rolled the transaction back, so a second
ROLLBACK would replace the real error with "cannot rollback - no transaction is active".
"""

from __future__ import annotations

import errno
import functools
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def rollback(conn: sqlite3.Connection) -> None:
    """ROLLBACK only what SQLite has not rolled back itself."""
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def disk_fault(exc: sqlite3.OperationalError, path: Path | str) -> OSError | None:
    """The OSError a disk fault reported by SQLite stands for (errno, cause, file), or None
    for any other operational error (a locked database, bad SQL)."""
    text = str(exc)
    code = (errno.ENOSPC if "full" in text else errno.EROFS if "readonly" in text
            else errno.EIO if "I/O" in text else None)
    if code is None:
        return None
    return OSError(code, f"{text} ({os.strerror(code)})", str(path))


def named_disk_faults(method: Callable[..., T]) -> Callable[..., T]:
    """A method of an object with a ``path``: SQLite disk faults become an OSError naming it,
    so a command can say in one line what is wrong and where."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> T:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.OperationalError as exc:
            fault = disk_fault(exc, getattr(self, "path", "?"))
            if fault is None:
                raise
            raise fault from exc

    return wrapper
