"""Field limits at ingest: a record past a limit is quarantined there, once, with its reason
(not indexed as a 100k-character company, not quarantined again by every task)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from chalicelib.contract import keys
from chalicelib.schema import RunReport
from tests.conftest import fake_task
from tests.pipeline_support import article, jsonl_gz, put_incoming

REPO = Path(__file__).resolve().parents[1]


def test_over_long_fields_and_nul_characters_are_quarantined_once_at_ingest(make_runtime):
    rt = make_runtime(tasks=[fake_task("alpha"), fake_task("beta")])
    lines = [article(0), article(1, title="T" * 1001), article(2, body="word " * 40_001),
             article(3, title="Nul\u0000title"), article(4, source="wire\u0000")]
    _, rid = put_incoming(rt, "limits.jsonl.gz", jsonl_gz(lines))

    report = RunReport.model_validate_json(rt.store.get(keys.report(rid)))
    assert report.verdict == "ok" and report.articles == {"input": 5, "valid": 1, "quarantined": 4}
    quarantined = [json.loads(x) for x in rt.store.get(keys.ingest_quarantine(rid)).splitlines()]
    reasons = [q["reason"] for q in quarantined]
    assert "at most 1000 characters" in reasons[0] and reasons[0].startswith("invalid article: title")
    assert "at most 200000 characters" in reasons[1] and "body" in reasons[1]
    assert "title contains a NUL character" in reasons[2]
    assert "source contains a NUL character" in reasons[3]
    # Once: no task saw them.
    assert all(t.quarantined == 0 for t in report.tasks.values())
    assert rt.search.count(run_id=rid) == 1


def test_limits_are_configurable_and_a_bad_value_is_named(tmp_path):
    code = ("from chalicelib.contract.schema import MAX_TITLE_CHARS, MAX_BODY_CHARS; "
            "print(MAX_TITLE_CHARS, MAX_BODY_CHARS)")
    env = {**os.environ, "NEWSOPS_MAX_TITLE_CHARS": "80"}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True)
    assert out.stdout.split() == ["80", "200000"]
    env["NEWSOPS_MAX_TITLE_CHARS"] = "eighty"
    bad = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True)
    assert bad.returncode != 0 and "NEWSOPS_MAX_TITLE_CHARS must be a whole number" in bad.stderr
