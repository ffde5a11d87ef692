"""The ledger in SQLite: the run id is the primary key, so a second claim fails atomically."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from chalicelib.clock import SYSTEM_CLOCK, Clock
from chalicelib.ledger.base import Ledger, RunRecord
from chalicelib.sqlitefaults import named_disk_faults, rollback

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    input_key TEXT NOT NULL,
    etag TEXT NOT NULL,
    state TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    ended REAL,
    verdict TEXT,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS runs_state_created ON runs(state, created);
CREATE INDEX IF NOT EXISTS runs_created ON runs(created);
CREATE TABLE IF NOT EXISTS state (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated REAL NOT NULL,
    PRIMARY KEY (namespace, key)
);
"""
_COLUMNS = ("run_id", "input_key", "etag", "state", "created", "updated", "ended", "verdict", "detail")


class SqliteLedger(Ledger):
    @named_disk_faults
    def __init__(self, path: Path, *, clock: Clock | None = None) -> None:
        self.path = Path(path)
        self.clock = clock or SYSTEM_CLOCK
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._conn() as c:
            c.executescript(_SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        # One connection per thread: the local workflow runs Map iterations in threads, and
        # worker processes open their own; WAL lets readers proceed during a write.
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    @staticmethod
    def _row(row: tuple[Any, ...]) -> RunRecord:
        d = dict(zip(_COLUMNS, row, strict=True))
        d["detail"] = json.loads(d["detail"])
        return RunRecord(**d)

    @named_disk_faults
    def claim_run(self, record: RunRecord) -> bool:
        try:
            self._conn().execute(
                f"INSERT INTO runs ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
                (record.run_id, record.input_key, record.etag, record.state, record.created,
                 record.updated, record.ended, record.verdict, json.dumps(record.detail)),
            )
        except sqlite3.IntegrityError:
            return False
        return True

    @named_disk_faults
    def take_over_claim(self, run_id: str, *, claimed_before: float) -> bool:
        cur = self._conn().execute(
            "UPDATE runs SET updated = ? WHERE run_id = ? AND state = 'CLAIMED' AND updated < ?",
            (self.clock.now(), run_id, claimed_before))
        return cur.rowcount == 1

    @named_disk_faults
    def release_claim(self, run_id: str) -> bool:
        cur = self._conn().execute(
            "UPDATE runs SET state = 'CLAIMED', updated = 0 "
            "WHERE run_id = ? AND state IN ('CLAIMED', 'RUNNING')", (run_id,))
        return cur.rowcount == 1

    @named_disk_faults
    def reopen_run(self, run_id: str, *, attempt: int, execution: str,
                   previous: dict[str, Any]) -> bool:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if row is None or (rec := self._row(row)).state == "SUCCEEDED" or \
                    int(rec.detail.get("attempt", 1)) != attempt - 1:
                rollback(conn)
                return False
            rec.detail["attempts"] = [*rec.detail.get("attempts", []), previous]
            rec.detail.update(attempt=attempt, execution=execution)
            conn.execute(
                "UPDATE runs SET state='RUNNING', updated=?, ended=NULL, verdict=NULL, detail=? "
                "WHERE run_id=?", (self.clock.now(), json.dumps(rec.detail), run_id))
            conn.execute("COMMIT")
        except BaseException:
            rollback(conn)
            raise
        return True

    @named_disk_faults
    def update_run(self, run_id: str, **fields: Any) -> RunRecord:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM runs WHERE run_id = ?", (run_id,)
            ).fetchone()
            if row is None:
                raise KeyError(f"unknown run {run_id}")
            rec = self._row(row)
            detail = fields.pop("detail", None)
            if detail:
                rec.detail.update(detail)
            for k, v in fields.items():
                if k not in _COLUMNS or k == "run_id":
                    raise ValueError(f"not a run field: {k}")
                setattr(rec, k, v)
            rec.updated = self.clock.now()
            conn.execute(
                "UPDATE runs SET state=?, updated=?, ended=?, verdict=?, detail=? WHERE run_id=?",
                (rec.state, rec.updated, rec.ended, rec.verdict, json.dumps(rec.detail), run_id),
            )
            conn.execute("COMMIT")
        except BaseException:
            rollback(conn)
            raise
        return rec

    @named_disk_faults
    def get_run(self, run_id: str) -> RunRecord | None:
        row = self._conn().execute(
            f"SELECT {', '.join(_COLUMNS)} FROM runs WHERE run_id = ?", (run_id,)
        ).fetchone()
        return self._row(row) if row else None

    @named_disk_faults
    def list_runs(
        self, *, state: str | None = None, limit: int = 50, before: float | None = None
    ) -> list[RunRecord]:
        sql = f"SELECT {', '.join(_COLUMNS)} FROM runs WHERE 1=1"
        args: list[Any] = []
        if state:
            sql += " AND state = ?"
            args.append(state)
        if before is not None:
            sql += " AND created < ?"
            args.append(before)
        sql += " ORDER BY created DESC LIMIT ?"
        args.append(limit)
        return [self._row(r) for r in self._conn().execute(sql, args).fetchall()]

    @named_disk_faults
    def get_state(self, namespace: str, key: str) -> dict[str, Any] | None:
        row = self._conn().execute(
            "SELECT value FROM state WHERE namespace = ? AND key = ?", (namespace, key)
        ).fetchone()
        return json.loads(row[0]) if row else None

    @named_disk_faults
    def put_state(self, namespace: str, key: str, value: dict[str, Any]) -> None:
        self._conn().execute(
            "INSERT INTO state (namespace, key, value, updated) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(namespace, key) DO UPDATE SET value = excluded.value, updated = excluded.updated",
            (namespace, key, json.dumps(value), self.clock.now()),
        )

    @named_disk_faults
    def list_state(self, namespace: str) -> list[tuple[str, dict[str, Any]]]:
        rows = self._conn().execute(
            "SELECT key, value FROM state WHERE namespace = ? ORDER BY key", (namespace,)
        ).fetchall()
        return [(k, json.loads(v)) for k, v in rows]
