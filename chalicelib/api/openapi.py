"""Builds openapi.json from the response models, so the document and the code cannot drift apart.

``python -m chalicelib.api.openapi > chalicelib/api/openapi.json`` rewrites it; a test fails
when the file in the repository differs from what this module builds.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from pydantic.json_schema import models_json_schema

from chalicelib.api import models

_RUN_ID = {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,80}$", "maxLength": 80}
_DESCRIPTION = (
    "Status API and dashboard of the newsops pipeline.\n\n"
    "Authorization: on AWS every route requires IAM (SigV4-signed requests, API Gateway "
    "`AWS_IAM` authorization); the API is never public. Grant `execute-api:Invoke` on the "
    "API's ARN to the operators' role, and call it with an SDK, `awscurl`, or a local SigV4 "
    "signing proxy for the dashboard in a browser. Locally, `newsops serve --port N` serves the "
    "same routes on 127.0.0.1 without authorization.\n\n"
    "Every parameter is validated: unknown or malformed ones answer 400 with a message; an "
    "unknown run answers 404. Times are seconds since the epoch (UTC)."
)


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json_response(name: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


def _error(description: str) -> dict[str, Any]:
    return _json_response("ErrorResponse", description)


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def build() -> dict[str, Any]:
    _, schemas = models_json_schema(
        [(m, "serialization") for m in (models.ErrorResponse, models.Health, models.Status, models.RunsPage,
                                        models.RunDetail, models.DashboardData,
                                        models.SearchResponse)],
        ref_template="#/components/schemas/{model}")
    bad = _error("a parameter is unknown or invalid; the message says which")
    security = [{"sigv4": []}]
    paths: dict[str, Any] = {
        "/health": {"get": {
            "operationId": "health", "summary": "Liveness: the ledger answers",
            "responses": {"200": _json_response("Health", "healthy"), "400": bad,
                          "503": _json_response("Health", "a dependency does not answer")}}},
        "/status": {"get": {
            "operationId": "status",
            "summary": "Last crawl, last runs, verifier verdict, reaper pass, open alerts",
            "responses": {"200": _json_response("Status", "the system's state"), "400": bad}}},
        "/runs": {"get": {
            "operationId": "listRuns", "summary": "Runs, newest first, paged and filterable by state",
            "parameters": [
                _query("state", {"type": "string", "enum": list(models.RUN_STATES)}, "only runs in this state"),
                _query("limit", {"type": "integer", "minimum": 1, "maximum": 200, "default": 20},
                       "runs per page"),
                _query("before", {"type": "number", "minimum": 0},
                       "only runs created before this time: the previous page's next_before"),
            ],
            "responses": {"200": _json_response("RunsPage", "one page of runs"), "400": bad}}},
        "/runs/{run_id}": {"get": {
            "operationId": "getRun",
            "summary": "One run: per task per chunk state, durations, attempts, model versions, lineage",
            "parameters": [
                {"name": "run_id", "in": "path", "required": True, "schema": _RUN_ID},
                _query("chunk_offset", {"type": "integer", "minimum": 0, "maximum": 10000, "default": 0},
                       "first chunk of the page"),
                _query("chunk_limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
                       "chunks per page"),
            ],
            "responses": {"200": _json_response("RunDetail", "the run"), "400": bad,
                          "404": _error("no such run")}}},
        "/search": {"get": {
            "operationId": "search",
            "summary": "Full text + filters + facets, or articles similar to one (vector kNN)",
            "parameters": [
                _query("q", {"type": "string", "maxLength": 500}, "full-text query (English and Japanese)"),
                _query("company", {"type": "string", "maxLength": 200}, "normalised company name (empty: any)"),
                _query("category", {"type": "string", "maxLength": 200}, "category label (empty: any)"),
                _query("source", {"type": "string", "maxLength": 200}, "outlet name (empty: any)"),
                _query("language", {"type": "string", "pattern": "^([A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*)?$"},
                       "ISO 639-1 language code (empty: any)"),
                _query("run_id", {"type": "string", "maxLength": 200}, "only this run's documents (empty: any)"),
                _query("date_from", {"type": "string", "format": "date"}, "published on or after (YYYY-MM-DD)"),
                _query("date_to", {"type": "string", "format": "date"}, "published on or before (YYYY-MM-DD)"),
                _query("similar_to", {"type": "string", "maxLength": 512},
                       "an article id: articles most similar to it (not with q; empty: none)"),
                _query("size", {"type": "integer", "minimum": 1, "maximum": 100, "default": 10}, "hits per page"),
                _query("offset", {"type": "integer", "minimum": 0, "maximum": 9999, "default": 0}, "first hit"),
                _query("facets", {"type": "boolean", "default": False},
                       "also count top companies, categories, sources and articles per day"),
                _query("replays", {"type": "boolean", "default": False},
                       "also return replay runs' results (newsops replay; each names its run and models)"),
            ],
            "responses": {"200": _json_response("SearchResponse", "matching articles"), "400": bad}}},
        "/dashboard/data": {"get": {
            "operationId": "dashboardData", "summary": "The data the dashboard draws",
            "parameters": [_query("days", {"type": "integer", "minimum": 1, "maximum": 90, "default": 14},
                                  "days per chart")],
            "responses": {"200": _json_response("DashboardData", "chart data"), "400": bad}}},
        "/": {"get": {
            "operationId": "dashboard", "summary": "The dashboard: one HTML page, no outside resources",
            "responses": {"200": {"description": "the page",
                                  "content": {"text/html": {"schema": {"type": "string"}}}},
                          "400": bad}}},
        "/openapi.json": {"get": {
            "operationId": "openapi", "summary": "This document",
            "responses": {"200": {"description": "OpenAPI 3 document",
                                  "content": {"application/json": {"schema": {"type": "object"}}}},
                          "400": bad}}},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "newsops status API", "version": "1", "description": _DESCRIPTION},
        "servers": [{"url": "/"}],
        "security": security,
        "components": {
            "securitySchemes": {"sigv4": {"type": "apiKey", "in": "header", "name": "Authorization",
                                          "description": "AWS Signature Version 4 (API Gateway AWS_IAM)",
                                          "x-amazon-apigateway-authtype": "awsSigv4"}},
            "schemas": schemas["$defs"],
        },
        "paths": paths,
    }


def render() -> str:
    return json.dumps(build(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
