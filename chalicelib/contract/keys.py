"""Every object key of the data layout (docs/design.md §4), and the ids derived from keys and URLs.

One module builds them so that the Lambdas, the batch job, the verifier and the tests can
never disagree about where a thing lives.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

INCOMING_PREFIX = "incoming/"
RUNS_PREFIX = "runs/"

# Query parameters that only track the reader; they never change which article a URL names.
_TRACKING_PARAMS = re.compile(
    r"^(utm_[a-z]+|gclid|fbclid|mc_cid|mc_eid|yclid|igshid|ref|ref_src|cmpid|ncid|_ga)$", re.I
)
_EXECUTION_NAME_BAD = re.compile(r"[^A-Za-z0-9_-]")


_SIMPLE_URL = re.compile(r"^(https?)://([a-z0-9.-]+)(/[^?#\s%]*)?$")


def canonical_url(url: str) -> str:
    """Lower-case scheme and host, default port and fragment dropped, tracking params removed."""
    url = url.strip()
    simple = _SIMPLE_URL.match(url)
    if simple:
        # Already canonical (the common case): skip the full parse on the ingest hot path.
        return f"{simple.group(1)}://{simple.group(2)}{simple.group(3) or '/'}"
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    query = urlencode(
        sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
               if not _TRACKING_PARAMS.match(k))
    )
    path = parts.path or "/"
    return urlunsplit((scheme, host, path, query, ""))


def url_hash(url: str) -> str:
    return hashlib.sha256(canonical_url(url).encode()).hexdigest()


def article_id(url: str) -> str:
    """Stable id of an article: the first 32 hex digits of the canonical URL's sha256."""
    return url_hash(url)[:32]


def run_id(input_key: str, etag: str) -> str:
    """Run id of an input object: same key + etag -> same id; a valid execution name.

    Step Functions execution names allow 80 characters of [A-Za-z0-9-_]; the readable
    prefix tells a person which batch it is, the hash makes it unique per object version.
    """
    plain_etag = etag.strip('"')
    digest = hashlib.sha256(f"{input_key}\n{plain_etag}".encode()).hexdigest()[:16]
    stem = input_key.removeprefix(INCOMING_PREFIX).rsplit("/", 1)[-1]
    stem = stem.removesuffix(".gz").removesuffix(".jsonl")
    stem = _EXECUTION_NAME_BAD.sub("-", stem)[:40].strip("-_") or "batch"
    return f"{stem}-{digest}"


def _day(d: date | datetime) -> date:
    return d.date() if isinstance(d, datetime) else d


def raw_html(url: str, fetched: date | datetime) -> str:
    d = _day(fetched)
    return f"raw/{d:%Y/%m/%d}/{url_hash(url)}.html.gz"


def incoming(batch_id: str, day: date | datetime) -> str:
    return f"{INCOMING_PREFIX}{_day(day):%Y-%m-%d}/{batch_id}.jsonl.gz"


def rejected(name: str, day: date | datetime) -> str:
    return f"rejected/{_day(day):%Y-%m-%d}/{name}"


def run_prefix(rid: str) -> str:
    return f"{RUNS_PREFIX}{rid}/"


def manifest(rid: str) -> str:
    return f"{RUNS_PREFIX}{rid}/manifest.json"


def chunk(rid: str, n: int) -> str:
    return f"{RUNS_PREFIX}{rid}/chunks/{n:05d}.jsonl.gz"


def result(rid: str, task: str, n: int) -> str:
    return f"{RUNS_PREFIX}{rid}/results/{task}/{n:05d}.jsonl.gz"


REPLAY_RUN_PREFIX = "replay-"
REPLAY_INPUT_PREFIX = "replay/"


def replay_run_id(input_key: str, etag: str, task: str, model_version: str) -> str:
    """Run id of one replay: the input object's version, the task and the model version it
    replays with. Starts with ``replay-`` (search keeps these runs' results apart) and ends in
    16 hex digits like every run id."""
    digest = hashlib.sha256(f"{input_key}\n{etag.strip(chr(34))}\n{task}\n{model_version}".encode()).hexdigest()[:16]
    stem = input_key.rsplit("/", 1)[-1].removesuffix(".gz").removesuffix(".jsonl")
    stem = _EXECUTION_NAME_BAD.sub("-", stem)[:24].strip("-_") or "batch"
    return f"{REPLAY_RUN_PREFIX}{task[:12]}-{stem}-{digest}"


def replay_document_id(article_id: str, task: str, model_version: str) -> str:
    """A replay's search document sits beside the article's production document, never on it."""
    return f"{article_id}@{task}:{model_version}"[:512]


def replay_raw_batch(day: date | datetime) -> str:
    """A day of archived raw HTML, extracted again for a replay (not under incoming/: writing
    it must not trigger a production run)."""
    return f"{REPLAY_INPUT_PREFIX}raw/{_day(day):%Y-%m-%d}.jsonl.gz"


def task_error(rid: str, task: str, n: int) -> str:
    """Why the last attempt of a chunk failed, written by the job (the cause a person reads in
    the report, the alert and ``newsops status``, not only an exit code)."""
    return f"{RUNS_PREFIX}{rid}/errors/{task}/{n:05d}.json"


def chunk_plan(rid: str, attempt: int, task: str) -> str:
    """Which chunks a retry attempt of a task runs (the array index maps into this list)."""
    return f"{RUNS_PREFIX}{rid}/attempts/{attempt}/{task}.json"


def retry_execution(rid: str, attempt: int) -> str:
    """The execution of attempt 2, 3, ... of a run: ``<run id>-r1``, ``-r2``, ... (the first is
    named by the run id alone). A run id is at most 57 characters; execution names allow 80."""
    return rid if attempt <= 1 else f"{rid}-r{attempt - 1}"


def ingest_quarantine(rid: str) -> str:
    return f"{RUNS_PREFIX}{rid}/quarantine/ingest.jsonl"


def task_quarantine(rid: str, task: str, n: int) -> str:
    return f"{RUNS_PREFIX}{rid}/quarantine/{task}/{n:05d}.jsonl"


def report(rid: str) -> str:
    return f"{RUNS_PREFIX}{rid}/report.json"


def model_prefix(task: str, version: str) -> str:
    return f"models/{task}/{version}/"


def model_manifest(task: str, version: str) -> str:
    return f"models/{task}/{version}/MANIFEST.json"


def model_stage(task: str, stage: str) -> str:
    return f"models/{task}/stages/{stage}.json"


def training_prefix(train_id: str) -> str:
    return f"training/{train_id}/"


def training_request(train_id: str) -> str:
    return f"training/{train_id}/request.json"


def training_model(train_id: str) -> str:
    """The trained files, before ``register`` copies them into the registry."""
    return f"training/{train_id}/model/"


def training_evaluation(train_id: str) -> str:
    return f"training/{train_id}/evaluation.json"


def is_incoming(key: str) -> bool:
    return key.startswith(INCOMING_PREFIX) and not key.endswith("/")
