"""boto3 clients for the AWS adapters, built one way for every backend.

boto3 is imported here and only here, lazily: the Lambda runtime and the batch image provide
it, the local backend never needs it (docs/design.md §2: no boto3 in requirements.txt).
"""

from __future__ import annotations

import threading
from typing import Any

from botocore.exceptions import ClientError

# Standard mode retries throttling and transient errors with jittered backoff; the state
# machine's own Retry only sees what is left after these attempts.
_RETRIES = {"mode": "standard", "max_attempts": 8}
_lock = threading.Lock()
_shared: Any = None


def client(service: str, *, region: str | None = None, endpoint_url: str | None = None) -> Any:
    """A low-level client with the project's timeouts and retry policy.

    Clients come from one shared session (it caches the service models, which cost ~0.1 s a
    client to load otherwise), created under a lock: building clients from one session in
    several threads at once is not safe, using the clients afterwards is.
    """
    from botocore.config import Config

    config = Config(
        retries=_RETRIES,  # type: ignore[arg-type]
        connect_timeout=10,
        read_timeout=70,
        max_pool_connections=32,
        user_agent_extra="newsops",
    )
    with _lock:
        return _session().client(service, config=config, region_name=region, endpoint_url=endpoint_url)


def _session() -> Any:
    global _shared
    import boto3

    if _shared is None:
        _shared = boto3.session.Session()
    return _shared


def error_code(exc: BaseException) -> str:
    """The service's error code of a ClientError ("" for anything else)."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def is_not_found(exc: BaseException) -> bool:
    if not isinstance(exc, ClientError):
        return False
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status == 404 or error_code(exc) in ("404", "NoSuchKey", "NotFound", "NoSuchVersion")
