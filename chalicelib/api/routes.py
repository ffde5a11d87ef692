"""The status API and dashboard as a Chalice blueprint: ``app.register_blueprint(bp)``.

Every route requires IAM (SigV4) authorization on API Gateway: the API is never public. A
person reaches it through a signing proxy, an SDK or ``awscurl`` (see docs in openapi.json);
Chalice's local server (``newsops serve``) admits requests, and binds to 127.0.0.1 only.
Handlers validate their parameters and call one function of ``status`` or ``dashboard``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import warnings
from functools import cache
from pathlib import Path
from typing import Any

from chalice import BadRequestError, Blueprint, IAMAuthorizer, NotFoundError, Response
from pydantic import BaseModel

from chalicelib.api import dashboard, status
from chalicelib.api.params import (
    NotFound,
    ParamError,
    check_params,
    float_param,
    int_param,
    run_id_param,
    state_param,
)
from chalicelib.runtime import get_runtime
from chalicelib.search.api import InvalidSearchParams, parse_search_params, result_to_json

HERE = Path(__file__).resolve().parent
bp = Blueprint(__name__)
iam = IAMAuthorizer()

# Chalice's local server admits IAM-authorized routes with a warning per request; locally
# that is the documented behaviour, not news.
warnings.filterwarnings("ignore", message="IAMAuthorizer is not a supported in local mode")

_JSON = {"Content-Type": "application/json", "Cache-Control": "no-store",
         "X-Content-Type-Options": "nosniff"}


def _json(model: BaseModel | dict[str, Any], status_code: int = 200) -> Response:
    body = model.model_dump_json() if isinstance(model, BaseModel) else json.dumps(model)
    return Response(body=body, status_code=status_code, headers=dict(_JSON))


def _query(allowed: set[str]) -> dict[str, str]:
    try:
        return check_params(bp.current_request.query_params, allowed)
    except ParamError as exc:
        raise BadRequestError(str(exc)) from None


@bp.route("/health", methods=["GET"], authorizer=iam)
def health() -> Response:
    _query(set())
    doc, code = status.health(get_runtime())
    return _json(doc, code)


@bp.route("/status", methods=["GET"], authorizer=iam)
def get_status() -> Response:
    _query(set())
    return _json(status.status(get_runtime()))


@bp.route("/runs", methods=["GET"], authorizer=iam)
def list_runs() -> Response:
    q = _query({"state", "limit", "before"})
    try:
        state, limit = state_param(q), int_param(q, "limit", 20, 1, 200)
        before = float_param(q, "before")
    except ParamError as exc:
        raise BadRequestError(str(exc)) from None
    return _json(status.list_runs(get_runtime(), state=state, limit=limit, before=before))


@bp.route("/runs/{run_id}", methods=["GET"], authorizer=iam)
def get_run(run_id: str) -> Response:
    q = _query({"chunk_offset", "chunk_limit"})
    try:
        rid = run_id_param(run_id)
        offset = int_param(q, "chunk_offset", 0, 0, 10_000)
        limit = int_param(q, "chunk_limit", 100, 1, 1000)
    except ParamError as exc:
        raise BadRequestError(str(exc)) from None
    try:
        return _json(status.run_detail(get_runtime(), rid, chunk_offset=offset, chunk_limit=limit))
    except NotFound as exc:
        raise NotFoundError(str(exc)) from None


@bp.route("/search", methods=["GET"], authorizer=iam)
def search() -> Response:
    try:
        query = parse_search_params(bp.current_request.query_params)
    except InvalidSearchParams as exc:
        raise BadRequestError(str(exc)) from None
    return _json(result_to_json(get_runtime().search.search(query)))


@bp.route("/dashboard/data", methods=["GET"], authorizer=iam)
def dashboard_data() -> Response:
    q = _query({"days"})
    try:
        days = int_param(q, "days", 14, 1, 90)
    except ParamError as exc:
        raise BadRequestError(str(exc)) from None
    return _json(dashboard.dashboard_data(get_runtime(), window_days=days))


@bp.route("/openapi.json", methods=["GET"], authorizer=iam)
def openapi() -> Response:
    _query(set())
    return Response(body=(HERE / "openapi.json").read_text(encoding="utf-8"), headers=dict(_JSON))


@cache
def _page() -> tuple[str, str]:
    html = (HERE / "dashboard.html").read_text(encoding="utf-8")
    scripts = re.findall(r"<script>(.*?)</script>", html, flags=re.S)
    hashes = " ".join("'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
                      for s in scripts)
    # The page may load nothing from anywhere: only its own inline code and its data endpoint.
    csp = (f"default-src 'none'; script-src {hashes}; style-src 'unsafe-inline'; "
           "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; "
           "frame-ancestors 'none'")
    return html, csp


@bp.route("/", methods=["GET"], authorizer=iam)
def index() -> Response:
    _query(set())
    html, csp = _page()
    return Response(body=html, status_code=200, headers={
        "Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": csp,
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})
