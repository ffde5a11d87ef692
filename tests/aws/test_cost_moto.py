"""Run cost on AWS: Batch's own attempt records (DescribeJobs on every array child) priced by
the verify step, in moto.

moto's Docker-less Batch starts and stops each attempt in the same millisecond, so the test
gives the attempts lengths (and one child a failed first attempt) in moto's own job records
before the verifier reads them back through the Batch API. moto also describes a job's
resources as ``vcpus``/``memory`` only, dropping ``resourceRequirements`` and with it the GPU:
the GPUs then come from the task's job definition (tasks.json), which the verifier falls back
to; the Batch shape with a GPU entry is checked on its own below.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from chalicelib.compute.base import JobRequest
from chalicelib.compute.batch import BatchCompute, _attempt_usage
from chalicelib.contract import keys
from chalicelib.contract.schema import ChunkInfo, InputRef, RunManifest, TaskSpec
from chalicelib.factory import build_runtime
from chalicelib.ledger.base import RunRecord
from chalicelib.steps.verify import build_report
from tests.aws.moto_world import ACCOUNT, World, moto_job

RID = "cost-0123456789abcdef"
PRICES = {
    "as_of": "2026-02-01", "currency": "USD", "region": "us-east-1", "capacity": "on_demand",
    "gpu_instance": "g.gpu", "cpu_instance": "g.gpu",
    "instances": {"g.gpu": {"vcpus": 8, "gpus": 1, "memory_gib": 32, "on_demand_per_hour": 1.8}},
    "lambda": {"per_gb_second": 0.0000166667, "per_million_requests": 0.2,
               "memory_mb": {"ingest": 1024, "index": 1024, "verify": 512}},
    "step_functions": {"per_thousand_transitions": 0.025},
    "s3": {"per_thousand_put": 0.005, "per_thousand_get": 0.0004},
}
SPECS = [TaskSpec(name="embed", kind="embedding", model="none", gpu=1, vcpus=4, memory_mib=8192),
         TaskSpec(name="tag", kind="text-classification", model="none", gpu=0, vcpus=2, memory_mib=4096)]


def _register(w: World, spec: TaskSpec) -> None:
    # As the stack registers a task's job definition: its resources as resourceRequirements.
    reqs = [{"type": "VCPU", "value": str(spec.vcpus)}, {"type": "MEMORY", "value": str(spec.memory_mib)}]
    if spec.gpu:
        reqs.append({"type": "GPU", "value": str(spec.gpu)})
    w.client("batch").register_job_definition(
        jobDefinitionName=f"newsops-{spec.name}", type="container",
        containerProperties={"image": "newsops-batch:test", "command": ["python", "-m", "newsops_batch"],
                             "resourceRequirements": reqs})


def _wait_done(rt, job_id: str) -> None:
    deadline = time.monotonic() + 30
    while not rt.compute.describe(job_id).done:
        assert time.monotonic() < deadline, f"moto job {job_id} did not finish"
        time.sleep(0.05)


def _lengthen(job_id: str, seconds: list[float], *, failed_first: bool = False) -> None:
    """Give moto's attempt record(s) of one job (or array child) real lengths."""
    job = moto_job(job_id)
    [attempt] = job.attempts
    if failed_first:
        job.attempts.insert(0, {"container": {"exitCode": 75, "reason": "spot reclaimed"},
                                "startedAt": attempt["startedAt"] - 600_000, "stoppedAt": 0})
    for a, s in zip(job.attempts, seconds, strict=True):
        a["stoppedAt"] = a["startedAt"] + int(s * 1000)


@pytest.fixture
def aws_rt(world: World, tmp_path: Path):
    for spec in SPECS:
        _register(world, spec)
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps(PRICES))
    tasks = tmp_path / "tasks.json"
    tasks.write_text(json.dumps({"tasks": [s.model_dump() for s in SPECS]}))
    # No execution runs here: the verify step is called directly, as the state machine would.
    unused = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:unused"
    rt = build_runtime(world.settings(home=tmp_path / "home", tasks_file=tasks, prices_file=prices,
                                      state_machine_arn=unused))
    yield rt
    rt.close()


def test_the_verifier_prices_every_batch_attempt_of_every_array_child(world: World, aws_rt) -> None:
    rt = aws_rt
    embed = rt.compute.submit(JobRequest(name=f"{RID}-embed", queue=world.queue_arn,
                                         definition="newsops-embed", array_size=3, attempts=2))
    tag = rt.compute.submit(JobRequest(name=f"{RID}-tag", queue=world.queue_arn, definition="newsops-tag"))
    other = rt.compute.submit(JobRequest(name="another-run-0123456789abcdef-embed", queue=world.queue_arn,
                                         definition="newsops-embed"))
    for job_id in (embed, tag, other):
        _wait_done(rt, job_id)
    _lengthen(f"{embed}:0", [120.0])
    _lengthen(f"{embed}:1", [30.5, 90.0], failed_first=True)
    _lengthen(f"{embed}:2", [60.25])
    _lengthen(tag, [45.0])
    _lengthen(other, [9999.0])  # another run's job: not this run's cost

    now = rt.clock.now()
    rt.ledger.claim_run(RunRecord(run_id=RID, input_key="incoming/x.jsonl.gz", etag="e", state="RUNNING",
                                  created=now, updated=now))
    rt.ledger.update_run(RID, detail={"t_ingest_start": now, "t_ingest_end": now + 4.0, "t_index_start": now + 300,
                                      "t_index_end": now + 310.0, "t_verify_end": now + 311.5})
    rt.store.put(keys.manifest(RID), RunManifest(
        run_id=RID, created=rt.clock.utcnow(), input=InputRef(uri="s3://b/incoming/x.jsonl.gz", key="incoming/x",
                                                             etag="e", size=1),
        chunk_size=10, chunks=[ChunkInfo(index=i, key=f"runs/{RID}/chunks/{i}", records=10, sha256="0" * 64)
                               for i in range(3)],
        articles={"input": 30, "valid": 30, "quarantined": 0}, tasks=SPECS, code_version="test",
    ).model_dump_json().encode())

    report = build_report(RID, rt)
    assert report.cost_error is None, report.cost_error

    # The expectation, from what Batch itself answers for the run's children.
    batch = world.client("batch")
    described = batch.describe_jobs(jobs=[f"{embed}:{i}" for i in range(3)] + [tag])["jobs"]
    walls: dict[str, list[float]] = {"embed": [], "tag": []}
    for job in described:
        walls[job["jobName"].rsplit("-", 1)[1]] += [(a["stoppedAt"] - a["startedAt"]) / 1000 for a in job["attempts"]]
    assert sorted(walls["embed"]) == [30.5, 60.25, 90.0, 120.0] and walls["tag"] == [45.0]

    hourly = PRICES["instances"]["g.gpu"]["on_demand_per_hour"]
    compute = 0.0
    for name, vcpus, gpus, share in (("embed", 4, 1, 1.0), ("tag", 2, 0, 2 / 8)):
        usage = report.tasks[name].usage
        wall = sum(walls[name])
        cost = wall / 3600 * share * hourly
        assert usage.job_attempts == len(walls[name]) and usage.wall_s == pytest.approx(wall)
        # Batch reports no CPU time: the vCPUs the job was given for its wall time.
        assert not usage.cpu_measured and usage.cpu_s == pytest.approx(wall * vcpus)
        assert usage.gpu_s == pytest.approx(wall * gpus)
        assert usage.cost == pytest.approx(cost, abs=1e-8)
        assert usage.per_1k_articles == pytest.approx(cost / 30 * 1000, abs=1e-7)
        compute += cost
    assert report.tasks["embed"].usage.failed_attempts == 1

    c = report.cost
    gb_s = 4.0 * 1 + 10.0 * 1 + 1.5 * 0.5
    assert c.lambda_gb_s == pytest.approx(gb_s) and c.lambda_requests == 3
    assert c.compute == pytest.approx(compute, abs=1e-7)
    assert c.total == pytest.approx(c.compute + c.lambda_functions + c.step_functions + c.s3, abs=1e-7)
    assert c.per_1k_articles == pytest.approx(c.total / 30 * 1000, abs=1e-6)


def test_an_attempt_gets_the_vcpus_and_gpus_batch_describes() -> None:
    """DescribeJobs as Batch answers for a job defined with resource requirements."""
    job = {"jobId": "p:4", "jobName": f"{RID}-embed", "container": {
        "resourceRequirements": [{"type": "VCPU", "value": "8"}, {"type": "MEMORY", "value": "30000"},
                                 {"type": "GPU", "value": "2"}]},
        "attempts": [{"container": {"exitCode": 137}, "startedAt": 1_000, "stoppedAt": 61_500},
                     {"container": {"exitCode": 0}, "startedAt": 70_000, "stoppedAt": 100_000},
                     {"container": {}, "startedAt": 120_000}]}  # still running: no length yet

    class OneJob:
        def describe_jobs(self, jobs: list[str]) -> dict:
            return {"jobs": [job] if jobs == ["p:4"] else []}

    [described] = BatchCompute("q", OneJob())._describe_many(["p:4"])
    attempts = _attempt_usage(described, f"{RID}-embed")
    assert [(a.index, a.attempt, a.wall_s, a.exit_code, a.vcpus, a.gpus) for a in attempts] == [
        (4, 1, 60.5, 137, 8, 2), (4, 2, 30.0, 0, 8, 2)]
    cpu_only = dict(job, container={"resourceRequirements": [{"type": "VCPU", "value": "2"}]})
    assert {(a.vcpus, a.gpus) for a in _attempt_usage(cpu_only, "x")} == {(2, 0)}
