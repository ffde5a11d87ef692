"""The embedded search engine (the local default): SQLite FTS5 + brute-force kNN with numpy.

One file holds everything: the documents (JSON), their filter columns, a company table for the
company filter and facet, the FTS5 index of title and body (CJK as bigrams, see fts.py) and the
vectors (float32 blobs). Similar-article search scans every vector once per query with one
matrix product (about 10 ms at 50k x 384 floats on one core).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import orjson

from chalicelib.contract import keys
from chalicelib.search.base import IndexOutcome, SearchIndex, SearchQuery, SearchResult
from chalicelib.search.bulk import batched
from chalicelib.search.document import (
    FACET_SIZE,
    DocumentRejected,
    PreparedDocument,
    hit_from_source,
    prepare,
)
from chalicelib.search.fts import index_text, match_expression
from chalicelib.sqlitefaults import named_disk_faults, rollback

# Bump when index_text() changes: an index built by older code is then re-tokenised on open.
TEXT_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS docs (
    rid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    run_id TEXT,
    source TEXT,
    language TEXT,
    category TEXT,
    published TEXT,
    doc TEXT NOT NULL,
    embedding BLOB
);
CREATE INDEX IF NOT EXISTS docs_listing ON docs(published DESC, id);
CREATE INDEX IF NOT EXISTS docs_run ON docs(run_id);
CREATE INDEX IF NOT EXISTS docs_source ON docs(source);
CREATE INDEX IF NOT EXISTS docs_category ON docs(category);
CREATE TABLE IF NOT EXISTS companies (
    rid INTEGER NOT NULL,
    normalized TEXT NOT NULL,
    norm_key TEXT NOT NULL,
    name_key TEXT NOT NULL,
    PRIMARY KEY (rid, normalized, name_key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS companies_norm ON companies(norm_key);
CREATE INDEX IF NOT EXISTS companies_name ON companies(name_key);
"""
# Contentless: the text is already in docs.doc, and storing the bigram form again would double
# the writes. Replacing a row then needs the tokens it was indexed with, which index_text()
# recomputes from the stored document; TEXT_VERSION guards that they never differ.
_FTS = (
    "CREATE VIRTUAL TABLE fts USING fts5(title, body, content = '',"
    " tokenize = 'porter unicode61 remove_diacritics 2')",
    # Title matches weigh double; ORDER BY rank then uses FTS5's own sorter.
    "INSERT INTO fts(fts, rank) VALUES ('rank', 'bm25(2.0, 1.0)')",
    # Keep a whole write batch's terms in memory (the default flushes every 1 MB), so each
    # batch becomes one segment and FTS5 merges far less while indexing.
    "INSERT INTO fts(fts, rank) VALUES ('hashsize', 33554432)",
    # Merge segments later and in bigger steps: a fifth less indexing work; queries at 50k
    # documents measured no slower (bench/bench_index.py).
    "INSERT INTO fts(fts, rank) VALUES ('automerge', 16)",
)


def _key(name: str) -> str:
    return name.casefold()


# Rows per multi-row INSERT, at most: fewer where SQLite allows fewer parameters a statement
# (32766 since 3.32, 999 before), which makes a batch's 5,000 documents two statements.
_ROWS_PER_INSERT = 10_000


def _max_params(conn: sqlite3.Connection) -> int:
    return conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)


def _insert_rows(conn: sqlite3.Connection, head: str, width: int, rows: Sequence[tuple[Any, ...]]
                 ) -> None:
    """``head VALUES (?, …), (?, …), …``: _ROWS_PER_INSERT rows per statement.

    Not executemany: the sqlite3 module releases the GIL around each sqlite3_step() and needs it
    back to bind the next row, so a writer thread stepping one row at a time waits for the
    thread preparing the next batch (up to the 5 ms switch interval) once per row. Binding
    thousands of rows at once and running them in one step makes that one wait per chunk, and lets
    SQLite (FTS5 tokenising, B-tree inserts) run without the GIL for the whole chunk.
    """
    one = "(" + ",".join("?" * width) + ")"
    chunk = max(1, min(_ROWS_PER_INSERT, _max_params(conn) // width))
    for start in range(0, len(rows), chunk):
        part = rows[start:start + chunk]
        conn.execute(f"{head} VALUES {','.join([one] * len(part))}",
                     [value for row in part for value in row])


class _Row(NamedTuple):
    id: str
    values: tuple[Any, ...]  # run_id, source, language, category, published, doc JSON, vector
    text: tuple[str, str]  # title and body as FTS5 indexes them
    companies: list[tuple[str, str, str]]  # normalized, its key, the surface form's key


class LocalSearchIndex(SearchIndex):
    # Documents per write transaction. FTS5 makes each transaction one segment and merges
    # 'automerge' (16) segments of a level into one: at 5,000 a batch, 50k documents are 10
    # segments and never merged, at 2,000 they were 25 and 32k of them re-merged once (FTS5
    # insert CPU 172 -> 126 us a document; queries at 50k measured no slower). Two batches
    # (~10 KB a document: stored JSON, FTS text, vector) are in memory at once.
    @named_disk_faults
    def __init__(self, path: Path, *, dims: int = 384, batch_docs: int = 5000) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.dims = dims
        self.batch_docs = batch_docs
        self._local = threading.local()
        self._vectors_lock = threading.Lock()
        self._vectors: tuple[int, np.ndarray, np.ndarray] | None = None  # generation, rids, matrix
        conn = self._conn()
        conn.executescript(_SCHEMA)
        self._check_meta(conn)

    # -- plumbing -----------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        # One connection per thread (sqlite3 objects must not cross threads); WAL lets searches
        # run while the pipeline writes.
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA cache_size=-65536")
            conn.execute("PRAGMA temp_store=MEMORY")
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def _meta(self, conn: sqlite3.Connection, key: str) -> str | None:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _check_meta(self, conn: sqlite3.Connection) -> None:
        if (self._meta(conn, "dims") == str(self.dims) and self._meta(conn, "generation")
                and self._meta(conn, "text_version") == TEXT_VERSION):
            return  # the usual open: no write lock, so a reader never waits for the indexer
        conn.execute("BEGIN IMMEDIATE")
        try:
            stored_dims = self._meta(conn, "dims")
            if stored_dims is None:
                conn.execute("INSERT INTO meta VALUES ('dims', ?)", (str(self.dims),))
            elif int(stored_dims) != self.dims:
                raise ValueError(
                    f"the search index at {self.path} holds {stored_dims}-dimensional vectors, "
                    f"not {self.dims}; delete it and re-run the index step to rebuild it"
                )
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('generation', '0')")
            if self._meta(conn, "text_version") != TEXT_VERSION:
                # New tokenising code (or a new file): index every stored document afresh.
                conn.execute("DROP TABLE IF EXISTS fts")
                for statement in _FTS:
                    conn.execute(statement)
                self._rebuild_text(conn)
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('text_version', ?)", (TEXT_VERSION,))
            conn.execute("COMMIT")
        except BaseException:
            rollback(conn)
            raise

    @staticmethod
    def _text_row(doc: dict[str, Any]) -> tuple[str, str]:
        return index_text(doc.get("title") or ""), index_text(doc.get("body") or "")

    def _rebuild_text(self, conn: sqlite3.Connection) -> None:
        for rid, raw in conn.execute("SELECT rid, doc FROM docs"):
            conn.execute("INSERT INTO fts(rowid, title, body) VALUES (?, ?, ?)",
                         (rid, *self._text_row(orjson.loads(raw))))

    def _generation(self, conn: sqlite3.Connection) -> int:
        return int(self._meta(conn, "generation") or 0)

    # -- writes -------------------------------------------------------------------------------

    def _row(self, prepared: PreparedDocument) -> _Row:
        """Everything the writer stores for one document, computed before it takes the lock."""
        doc = prepared.doc
        vec = prepared.vector
        if vec is not None and len(vec) != self.dims:
            raise DocumentRejected(
                doc["id"], f"embedding has {len(vec)} dimensions; the index expects {self.dims}")
        category = doc["category"]["label"] if doc.get("category") else None
        blob = None if vec is None else vec.astype(np.float32).tobytes()
        return _Row(
            doc["id"],
            (doc.get("run_id"), doc.get("source"), doc.get("language"), category,
             doc.get("published"), orjson.dumps(doc).decode(), blob),
            self._text_row(doc),
            [(c["normalized"], _key(c["normalized"]), _key(c["name"])) for c in doc["companies"]],
        )

    @named_disk_faults
    def index(self, documents: Iterable[dict[str, Any]]) -> IndexOutcome:
        """Validate and tokenise a batch on this thread while a writer thread stores the previous
        one: sqlite3 releases the GIL inside SQLite, so the two overlap on two cores. At most two
        batches are in memory at once, whatever the input's length."""
        outcome = IndexOutcome()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="search-writer") as writer:
            pending: Future[int] | None = None
            try:
                for batch in batched(enumerate(documents), self.batch_docs):
                    rows = []
                    for position, raw in batch:
                        outcome.received += 1
                        try:
                            rows.append(self._row(prepare(raw, position)))
                        except DocumentRejected as e:
                            outcome.failed.append({"id": e.doc_id, "reason": e.reason})
                    if pending is not None:
                        outcome.indexed += pending.result()
                        pending = None
                    if rows:
                        pending = writer.submit(self._write, rows)
                if pending is not None:
                    outcome.indexed += pending.result()
                    pending = None
            finally:
                if pending is not None:
                    pending.cancel()
                writer.submit(self.close)  # the writer thread's connection ends with the thread
        return outcome

    def _write(self, rows: list[_Row]) -> int:
        # As few statements a batch as SQLite's parameter limit allows: each one hands the GIL
        # back and forth with the thread preparing the next batch (see _insert_rows): ~50
        # statements a batch of 5,000 left the writer waiting ~40 us a document, ~15 of them ~20 us.
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            # The same id twice in one batch: the last copy wins, as it would one request later.
            latest = {row.id: row for row in rows}
            found: dict[str, tuple[int, str]] = {}
            ids = list(latest)
            per_lookup = _max_params(conn)
            for start in range(0, len(ids), per_lookup):
                part = ids[start:start + per_lookup]
                found.update((i, (rid, old)) for i, rid, old in conn.execute(
                    f"SELECT id, rid, doc FROM docs WHERE id IN ({','.join('?' * len(part))})", part))
            next_rid = (conn.execute("SELECT max(rid) FROM docs").fetchone()[0] or 0) + 1
            new_docs, updates, fts_rows, fts_deletes, companies = [], [], [], [], []
            replaced: list[tuple[int]] = []
            for row in latest.values():
                if row.id in found:
                    # Same article again (a re-run): replace it in place, never add a second row.
                    rid, old = found[row.id]
                    updates.append((*row.values, rid))
                    fts_deletes.append((rid, *self._text_row(orjson.loads(old))))
                    replaced.append((rid,))
                else:
                    rid = next_rid
                    next_rid += 1
                    new_docs.append((rid, row.id, *row.values))
                fts_rows.append((rid, *row.text))
                companies.extend((rid, *c) for c in row.companies)
            _insert_rows(conn, "INSERT INTO docs (rid, id, run_id, source, language, category,"
                         " published, doc, embedding)", 9, new_docs)
            if updates:
                conn.executemany(
                    "UPDATE docs SET run_id=?, source=?, language=?, category=?, published=?,"
                    " doc=?, embedding=? WHERE rid=?", updates)
                # Contentless FTS5 forgets a row only when told the exact tokens it was indexed with.
                conn.executemany(
                    "INSERT INTO fts(fts, rowid, title, body) VALUES ('delete', ?, ?, ?)", fts_deletes)
                conn.executemany("DELETE FROM companies WHERE rid = ?", replaced)
            # FTS5 rows go through a staging table: a multi-row VALUES into a virtual table is
            # far slower than executemany (measured 180 vs 120 us a document), and executemany
            # would need the GIL back after every row. One INSERT … SELECT tokenises the whole
            # batch in a single step, with the GIL released throughout.
            conn.execute("CREATE TEMP TABLE IF NOT EXISTS fts_stage"
                         " (rid INTEGER, title TEXT, body TEXT)")
            _insert_rows(conn, "INSERT INTO temp.fts_stage", 3, fts_rows)
            conn.execute("INSERT INTO fts(rowid, title, body) SELECT rid, title, body FROM temp.fts_stage")
            conn.execute("DELETE FROM temp.fts_stage")
            _insert_rows(conn, "INSERT OR IGNORE INTO companies", 4, companies)
            conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
            conn.execute("COMMIT")
        except BaseException:
            rollback(conn)
            raise
        return len(rows)

    # -- reads --------------------------------------------------------------------------------

    @named_disk_faults
    def count(self, *, run_id: str | None = None) -> int:
        conn = self._conn()
        if run_id:
            return conn.execute("SELECT count(*) FROM docs WHERE run_id = ?", (run_id,)).fetchone()[0]
        return conn.execute("SELECT count(*) FROM docs").fetchone()[0]

    @named_disk_faults
    def get(self, doc_id: str) -> dict[str, Any] | None:
        row = self._conn().execute("SELECT doc, embedding FROM docs WHERE id = ?", (doc_id,)).fetchone()
        if row is None:
            return None
        doc = orjson.loads(row[0])
        doc["embedding"] = np.frombuffer(row[1], dtype=np.float32).tolist() if row[1] else None
        return doc

    @staticmethod
    def _filters(q: SearchQuery, *, use_indexes: bool = True) -> tuple[list[str], list[Any]]:
        """SQL conditions on ``docs d``. Without ``use_indexes`` the columns are written ``+d.x``,
        which keeps SQLite from driving the query from a column index: with a text match, the
        FTS5 hits must be the outer loop, else SQLite probes FTS5 once per filtered document."""
        col = "d." if use_indexes else "+d."
        where: list[str] = []
        params: list[Any] = []
        if q.company:
            where.append("d.rid IN (SELECT rid FROM companies WHERE norm_key = ?"
                         " UNION SELECT rid FROM companies WHERE name_key = ?)")
            params += [_key(q.company), _key(q.company)]
        for column, value in (("category", q.category), ("source", q.source),
                              ("language", q.language), ("run_id", q.run_id)):
            if value:
                where.append(f"{col}{column} = ?")
                params.append(value)
        # published is stored as one fixed ISO spelling in UTC, so string order is time order.
        if q.date_from:
            where.append(f"{col}published >= ?")
            params.append(q.date_from.isoformat())
        if q.date_to:
            where.append(f"{col}published < ?")
            params.append((q.date_to + timedelta(days=1)).isoformat())
        if not q.replays and not q.run_id:
            where.append(f"({col}run_id IS NULL OR substr({col}run_id, 1, ?) != ?)")
            params += [len(keys.REPLAY_RUN_PREFIX), keys.REPLAY_RUN_PREFIX]
        return where, params

    @named_disk_faults
    def search(self, query: SearchQuery) -> SearchResult:
        started = time.perf_counter()
        conn = self._conn()
        if query.similar_to:
            result = self._similar(conn, query)
        else:
            result = self._full_text(conn, query)
        result.took_ms = (time.perf_counter() - started) * 1000
        return result

    def _docs(self, conn: sqlite3.Connection, ranked: Sequence[tuple[int, float | None]]
              ) -> list[dict[str, Any]]:
        if not ranked:
            return []
        marks = ",".join("?" * len(ranked))
        docs = dict(conn.execute(f"SELECT rid, doc FROM docs WHERE rid IN ({marks})",
                                 [rid for rid, _ in ranked]).fetchall())
        return [hit_from_source(orjson.loads(docs[rid]), score) for rid, score in ranked if rid in docs]

    def _full_text(self, conn: sqlite3.Connection, q: SearchQuery) -> SearchResult:
        match = match_expression(q.text) if q.text else None
        if match is None:
            where, params = self._filters(q)
            scope = " AND ".join(where) or "1"
            total = conn.execute(f"SELECT count(*) FROM docs d WHERE {scope}", params).fetchone()[0]
            # NULLs sort last in DESC order; docs_listing serves this order without a sort.
            ranked = conn.execute(
                f"SELECT d.rid, NULL FROM docs d WHERE {scope}"
                f" ORDER BY d.published DESC, d.id LIMIT ? OFFSET ?",
                (*params, q.size, q.offset)).fetchall()
            facets = self._facets(conn, scope, params) if q.facets else {}
            return SearchResult(total=total, hits=self._docs(conn, ranked), facets=facets)

        where, params = self._filters(q, use_indexes=False)
        if where:
            # CROSS JOIN fixes the loop order: matching rows first, then their documents.
            source = "fts CROSS JOIN docs d ON d.rid = fts.rowid"
            cond = " AND ".join(["fts MATCH ?", *where])
        else:
            source, cond = "fts", "fts MATCH ?"
        cond_params = [match, *params]
        total = conn.execute(f"SELECT count(*) FROM {source} WHERE {cond}", cond_params).fetchone()[0]
        # ORDER BY rank (bm25 with the weights set at creation) lets FTS5 sort the hits itself.
        ranked = conn.execute(
            f"SELECT fts.rowid, -fts.rank FROM {source} WHERE {cond} ORDER BY fts.rank"
            f" LIMIT ? OFFSET ?", (*cond_params, q.size, q.offset)).fetchall()
        facets: dict[str, list[tuple[str, int]]] = {}
        if q.facets:
            scope = " AND ".join(["d.rid IN (SELECT rowid FROM fts WHERE fts MATCH ?)", *where])
            facets = self._facets(conn, scope, cond_params)
        return SearchResult(total=total, hits=self._docs(conn, ranked), facets=facets)

    def _facets(self, conn: sqlite3.Connection, scope: str, params: Sequence[Any]
                ) -> dict[str, list[tuple[str, int]]]:
        # Ties go to the smaller key, as in the clusters' terms aggregation.
        def top(column: str) -> list[tuple[str, int]]:
            return [tuple(r) for r in conn.execute(
                f"SELECT d.{column}, count(*) FROM docs d WHERE {scope} AND d.{column} IS NOT NULL"
                f" GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {FACET_SIZE}", params)]

        companies = [tuple(r) for r in conn.execute(
            f"SELECT c.normalized, count(DISTINCT c.rid) FROM companies c WHERE c.rid IN"
            f" (SELECT d.rid FROM docs d WHERE {scope}) GROUP BY 1 ORDER BY 2 DESC, 1"
            f" LIMIT {FACET_SIZE}", params)]
        days = [tuple(r) for r in conn.execute(
            f"SELECT substr(d.published, 1, 10), count(*) FROM docs d WHERE {scope}"
            f" AND d.published IS NOT NULL GROUP BY 1 ORDER BY 1", params)]
        return {"companies": companies, "categories": top("category"), "sources": top("source"),
                "days": days}  # type: ignore[dict-item]

    def _load_vectors(self, conn: sqlite3.Connection) -> tuple[np.ndarray, np.ndarray]:
        generation = self._generation(conn)
        with self._vectors_lock:
            if self._vectors is None or self._vectors[0] != generation:
                rows = conn.execute(
                    "SELECT rid, embedding FROM docs WHERE embedding IS NOT NULL ORDER BY rid"
                ).fetchall()
                rids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
                matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32)
                matrix = matrix.reshape(len(rows), self.dims).copy()
                # Normalised once here, so a query is one matrix-vector product of cosines.
                matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
                self._vectors = (generation, rids, matrix)
            return self._vectors[1], self._vectors[2]

    def _similar(self, conn: sqlite3.Connection, q: SearchQuery) -> SearchResult:
        row = conn.execute("SELECT rid, embedding FROM docs WHERE id = ?", (q.similar_to,)).fetchone()
        if row is None or row[1] is None:
            return SearchResult(total=0, hits=[])
        source_rid, blob = row
        query_vec = np.frombuffer(blob, dtype=np.float32)
        query_vec = query_vec / max(float(np.linalg.norm(query_vec)), 1e-12)
        rids, matrix = self._load_vectors(conn)
        if len(rids) == 0:
            return SearchResult(total=0, hits=[])
        scores = (1.0 + matrix @ query_vec) / 2.0  # the clusters' cosine score scale
        keep = rids != source_rid
        where, params = self._filters(q)
        if where:
            allowed = np.fromiter(
                (r[0] for r in conn.execute(f"SELECT d.rid FROM docs d WHERE {' AND '.join(where)}",
                                            params)), dtype=np.int64)
            keep &= np.isin(rids, allowed)
        candidates = np.flatnonzero(keep)
        k = min(q.offset + q.size, len(candidates))
        if k == 0:
            return SearchResult(total=0, hits=[])
        cand_scores = scores[candidates]
        top = np.argpartition(-cand_scores, k - 1)[:k]
        top = top[np.argsort(-cand_scores[top], kind="stable")]
        ranked = [(int(rids[candidates[i]]), float(cand_scores[i])) for i in top]
        page = ranked[q.offset:]
        docs: dict[int, str] = {}
        if page:
            marks = ",".join("?" * len(page))
            docs = dict(conn.execute(f"SELECT rid, doc FROM docs WHERE rid IN ({marks})",
                                     [r for r, _ in page]).fetchall())
        hits = [hit_from_source(orjson.loads(docs[r]), s) for r, s in page if r in docs]
        facets: dict[str, list[tuple[str, int]]] = {}
        if q.facets:
            top_rids = [r for r, _ in ranked]
            facets = self._facets(conn, f"d.rid IN ({','.join('?' * len(top_rids))})", top_rids)
        return SearchResult(total=k, hits=hits, facets=facets)
