"""The index step per slice of chunks, and the run limits that count waves of children."""

from __future__ import annotations

import pytest

from chalicelib.contract import keys
from chalicelib.joblimits import MAX_WORKFLOW_TIMEOUT_S, ChildLimit, run_limit_s
from chalicelib.schema import RunReport
from chalicelib.settings import Settings
from chalicelib.steps.index import SLICE_PREFIX, IndexRequestError, index_summary, parse_request
from chalicelib.steps.ingest import execution_input
from tests.conftest import fake_task
from tests.pipeline_support import article, jsonl_gz, put_incoming


def test_a_run_is_indexed_in_slices_and_a_retried_slice_counts_once(make_runtime):
    rt = make_runtime(tasks=[fake_task("alpha")], chunk_size=2, index_slice_chunks=2)
    _, rid = put_incoming(rt, "sliced.jsonl.gz", jsonl_gz([article(i) for i in range(9)]))
    report = RunReport.model_validate_json(rt.store.get(keys.report(rid)))
    assert report.verdict == "ok", report.problems
    run = rt.ledger.get_run(rid)
    # 9 articles -> 5 chunks -> slices of at most 2 chunks, each its own ledger entry.
    entries = {k: (v["first"], v["last"], v["indexed"]) for k, v in run.detail.items() if k.startswith(SLICE_PREFIX)}
    assert sorted(entries.values()) == [(0, 1, 4), (2, 3, 4), (4, 4, 1)]
    assert run.detail["index"]["indexed"] == 9 and run.detail["index"]["slices"] == 3
    assert report.indexed == 9 and "index" in report.timings
    states = rt.workflow.describe(rid).states_entered
    assert states.count("IndexSlice") == 3

    # Lambda retries a slice (a timeout after it had indexed): the same documents, counted once.
    import app

    assert app.index({"run_id": rid, "manifest": keys.manifest(rid), "first": 2, "last": 3}, None)["indexed"] == 4
    assert index_summary(rt.ledger.get_run(rid).detail)["indexed"] == 9
    assert rt.search.count(run_id=rid) == 9


def test_verify_names_chunks_no_slice_indexed(make_runtime):
    from chalicelib.steps.verify import build_report

    rt = make_runtime(tasks=[fake_task("alpha")], chunk_size=2, index_slice_chunks=2)
    _, rid = put_incoming(rt, "gap.jsonl.gz", jsonl_gz([article(i) for i in range(9)]))
    detail = rt.ledger.get_run(rid).detail
    rt.ledger.update_run(rid, detail={k: None for k in detail if k == f"{SLICE_PREFIX}00002-00003"})
    report = build_report(rid, rt)
    assert "the index step covered 3 of 5 chunks" in report.problems


def test_a_bad_index_request_is_refused_with_its_fields(make_runtime):
    rt = make_runtime(tasks=[fake_task("alpha")], chunk_size=2)
    _, rid = put_incoming(rt, "one.jsonl.gz", jsonl_gz([article(i) for i in range(3)]))
    with pytest.raises(IndexRequestError, match="first"):
        parse_request({"run_id": rid, "last": 1})
    with pytest.raises(IndexRequestError, match="ends before it starts"):
        parse_request({"run_id": rid, "first": 3, "last": 1})
    from chalicelib.steps.index import index_slice

    with pytest.raises(IndexRequestError, match="has 2 chunks: no chunk 7"):
        index_slice(rid, 5, 7, rt)


def test_execution_input_slices_every_chunk_and_bounds_jobs_by_waves():
    settings = Settings(backend="aws", max_parallel_jobs=4, queue_wait_s=3600, index_slice_chunks=100)
    from types import SimpleNamespace

    from chalicelib.contract.schema import TaskConfig

    tasks = TaskConfig.model_validate({"tasks": [
        {"name": n, "kind": "text-classification", "model": "none", "attempts": 3, "timeout_s": 3600}
        for n in ("embed", "companies", "category")]})
    rt = SimpleNamespace(settings=settings, tasks=tasks)
    body = execution_input(rt, "r", 10_000)  # type: ignore[arg-type]
    assert [s.model_dump() for s in body.index_slices[:2]] == [{"first": 0, "last": 99}, {"first": 100, "last": 199}]
    assert len(body.index_slices) == 100 and body.index_slices[-1].last == 9_999
    # 30,000 children, 4 at once: 7,500 waves of 3 x 3,600 s is over a year, Step Functions' most.
    assert {t.sfn_timeout_s for t in body.tasks} == {MAX_WORKFLOW_TIMEOUT_S}
    assert {t.timeout_s for t in body.tasks} == {3600}  # each child keeps its own limit
    small = execution_input(rt, "r", 3)  # type: ignore[arg-type]
    # 9 children, 4 at once: 3 waves of one child's 3 x 3,600 s, + the queue allowance.
    assert {t.sfn_timeout_s for t in small.tasks} == {3 * 3 * 3600 + 3600}
    assert [s.model_dump() for s in small.index_slices] == [{"first": 0, "last": 2}]
    # A retry runs only its plans, but indexes every chunk.
    retry = execution_input(rt, "r", 3, specs=tasks.tasks, plans={"embed": ("plan.json", 1)})  # type: ignore[arg-type]
    assert [t.name for t in retry.tasks] == ["embed"] and retry.tasks[0].sfn_timeout_s == 3 * 3600 + 3600
    assert [s.model_dump() for s in retry.index_slices] == [{"first": 0, "last": 2}]


def test_run_limit_counts_other_runs_children_and_local_workers():
    aws = Settings(backend="aws", max_parallel_jobs=2, queue_wait_s=100)
    one = [ChildLimit(4, 1, 10)]
    assert run_limit_s(one, aws) == 2 * 10 + 100
    assert run_limit_s(one, aws, extra_children=4) == 4 * 10 + 100
    local = Settings(backend="local", workers=4, queue_wait_s=100)
    assert run_limit_s(one, local) == 10 + 100


def test_the_summary_adds_slices_up_and_keeps_their_failures():
    detail = {"t_ingest_start": 1.0, "index": {"indexed": 99},  # an older summary is not a slice
              f"{SLICE_PREFIX}00000-00001": {"first": 0, "last": 1, "started": 10.0, "ended": 12.0,
                                             "indexed": 7, "failed": 1, "retried": 0,
                                             "failures": [{"id": "a", "reason": "bad vector"}]},
              f"{SLICE_PREFIX}00002-00002": {"first": 2, "last": 2, "started": 11.0, "ended": 15.0,
                                             "indexed": 3, "failed": 2, "retried": 1,
                                             "failures": [{"id": "b", "reason": "x"}, {"id": "c", "reason": "y"}]}}
    summary = index_summary(detail)
    assert summary == {"indexed": 10, "failed": 3, "retried": 1, "slices": 2, "chunks": 3, "seconds": 6.0,
                       "failures": [{"id": "a", "reason": "bad vector"}, {"id": "b", "reason": "x"},
                                    {"id": "c", "reason": "y"}],
                       "t_index_start": 10.0, "t_index_end": 15.0}
    assert index_summary({"index": {"indexed": 5}}) is None
