"""Run cost: measured job attempts x the price table, in the report of a real local run."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from chalicelib.compute.local import machine_gpus, visible_gpus
from chalicelib.contract import keys
from chalicelib.cost import DEFAULT_PRICES_FILE, PriceTableError, load_prices, state_transitions
from chalicelib.schema import RunReport
from newsops.summary import cost_lines
from tests.conftest import REPO, fake_task
from tests.pipeline_support import article, jsonl_gz, put_incoming

# Not the shipped figures: numbers that make every factor of the arithmetic visible.
TABLE = {
    "as_of": "2026-01-15", "currency": "EUR", "region": "test-region-1", "source": "test",
    "capacity": "spot", "gpu_instance": "x.gpu", "cpu_instance": "x.cpu", "task_instances": {},
    "instances": {
        "x.gpu": {"vcpus": 8, "gpus": 2, "memory_gib": 64, "on_demand_per_hour": 7.2, "spot_per_hour": 3.6},
        "x.cpu": {"vcpus": 16, "gpus": 0, "memory_gib": 32, "on_demand_per_hour": 1.6, "spot_per_hour": 0.8},
    },
    "lambda": {"per_gb_second": 0.001, "per_million_requests": 20000.0,
               "memory_mb": {"ingest": 2048, "index": 1024, "verify": 512}},
    "step_functions": {"per_thousand_transitions": 2.5},
    "s3": {"per_thousand_put": 5.0, "per_thousand_get": 0.4},
}


def _table(tmp_path: Path, **changes: object) -> Path:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({**TABLE, **changes}))
    return path


def _report(rt, rid: str) -> RunReport:
    return RunReport.model_validate_json(rt.store.get(keys.report(rid)))


def _recorded_attempts(home: Path, job_name: str) -> list[dict]:
    """What the local compute recorded for a job, read from its registry file directly."""
    docs = [json.loads(p.read_text()) for p in (home / "jobs").glob("*.json")]
    return [u for d in docs if d["name"] == job_name for u in d["usage"]]


def test_the_report_prices_every_measured_attempt_with_the_table(make_runtime, monkeypatch, tmp_path):
    monkeypatch.setenv("NEWSOPS_FAKE_MODE", "flaky")  # every chunk's first attempt fails (exit 75)
    prices = _table(tmp_path)
    rt = make_runtime(tasks=[fake_task("alpha", gpu=1, vcpus=2), fake_task("beta", gpu=0, vcpus=4)],
                      chunk_size=4, prices_file=prices)
    _, rid = put_incoming(rt, "cost.jsonl.gz", jsonl_gz([article(i) for i in range(10)]))
    report = _report(rt, rid)
    assert report.verdict == "ok", report.problems
    assert report.cost_error is None and report.cost is not None

    shares = {"alpha": ("x.gpu", max(2 / 8, 1 / 2)), "beta": ("x.cpu", 4 / 16)}
    compute = 0.0
    for name, (instance, share) in shares.items():
        recorded = _recorded_attempts(rt.settings.home, f"{rid}-{name}")
        # 3 chunks, each failed once then succeeded: every attempt is there, the failed ones too.
        assert sorted((u["index"], u["attempt"], u["exit_code"]) for u in recorded) == [
            (i, a, 75 if a == 1 else 0) for i in range(3) for a in (1, 2)]
        wall = sum(u["wall_s"] for u in recorded)
        cost = wall / 3600 * share * TABLE["instances"][instance]["spot_per_hour"]
        usage = report.tasks[name].usage
        assert usage is not None
        assert (usage.job_attempts, usage.failed_attempts, usage.instance) == (6, 3, instance)
        assert usage.instance_share == pytest.approx(share)
        assert usage.wall_s == pytest.approx(wall, abs=1e-3)
        # CPU time is the workers' own (rusage), not wall x vCPUs: a Python start-up uses some.
        assert usage.cpu_measured and usage.cpu_s == pytest.approx(sum(u["cpu_s"] for u in recorded), abs=1e-3)
        assert 0 < usage.cpu_s < wall * (os.cpu_count() or 1) + 1
        assert usage.gpu_s == pytest.approx(sum(u["wall_s"] * u["gpus"] for u in recorded), abs=1e-3)
        assert usage.cost == pytest.approx(cost, abs=1e-8)
        assert usage.per_1k_articles == pytest.approx(cost / 10 * 1000, abs=1e-7)
        compute += cost

    c = report.cost
    t = report.timings
    memory = TABLE["lambda"]["memory_mb"]
    gb_s = sum(t[s] * memory[s] / 1024 for s in ("ingest", "index", "verify"))
    lam = gb_s * 0.001 + 3 * 20000.0 / 1e6
    # RunTasks, 2 x (IsArrayJob, SubmitArrayJob), Index + its one slice, Verify, Verdict, Notify
    transitions = 1 + 2 * 2 + 2 + 3
    puts = 3 + 1 + 3 * 2 + 1  # chunks, manifest, results, report
    gets = 1 + 2 * 12 + (6 + 1) * 2  # input; manifest + chunk per attempt; index and verify
    s3 = puts * 5.0 / 1000 + gets * 0.4 / 1000
    assert (c.currency, c.prices_as_of.isoformat(), c.capacity, c.articles) == ("EUR", "2026-01-15", "spot", 10)
    assert (c.lambda_requests, c.state_transitions, c.s3_put, c.s3_get) == (3, transitions, puts, gets)
    assert c.compute == pytest.approx(compute, abs=1e-7)
    assert c.lambda_functions == pytest.approx(lam, abs=1e-6)
    assert c.step_functions == pytest.approx(transitions * 2.5 / 1000)
    assert c.s3 == pytest.approx(s3)
    assert c.total == pytest.approx(compute + lam + c.step_functions + s3, abs=1e-6)
    assert c.per_1k_articles == pytest.approx(c.total / 10 * 1000, abs=1e-5)

    # The ledger keeps the total for the run list and the dashboard; the summary prints it.
    assert rt.ledger.get_run(rid).detail["cost"]["total"] == c.total
    lines = cost_lines(report)
    assert lines[0].startswith("cost alpha") and "6 attempts (3 failed)" in lines[0]
    assert "spot prices of 2026-01-15" in lines[-1] and "per 1,000 articles" in lines[-1]


def test_a_bad_price_table_leaves_the_run_verified_and_says_why_it_has_no_cost(make_runtime, tmp_path):
    broken = _table(tmp_path, capacity="reserved")
    rt = make_runtime(tasks=[fake_task("t")], chunk_size=5, prices_file=broken)
    _, rid = put_incoming(rt, "nocost.jsonl.gz", jsonl_gz([article(i) for i in range(6)]))
    report = _report(rt, rid)
    assert report.verdict == "ok" and report.cost is None
    assert report.cost_error is not None
    assert str(broken) in report.cost_error and "capacity" in report.cost_error
    assert cost_lines(report) == [f"cost: unknown ({report.cost_error})"]


@pytest.mark.parametrize("change, message", [
    ({"capacity": "reserved"}, "capacity: Input should be 'on_demand' or 'spot'"),
    ({"as_of": "last week"}, "as_of: Input should be a valid date"),
    ({"currency": "dollars"}, "currency: String should match pattern"),
    ({"gpu_instance": "g9.huge"}, "gpu_instance is 'g9.huge', which is not under instances (x.cpu, x.gpu)"),
    ({"gpu_instance": "x.cpu"}, "gpu_instance 'x.cpu' has no GPU"),
    ({"instances": {**TABLE["instances"], "x.cpu": {**TABLE["instances"]["x.cpu"], "spot_per_hour": None}}},
     "capacity is spot but instances.x.cpu has no spot_per_hour"),
    ({"instances": {"x.gpu": {"vcpus": 0, "gpus": 1, "memory_gib": 1, "on_demand_per_hour": -1}}},
     "instances.x.gpu.vcpus: Input should be greater than or equal to 1"),
    ({"lambda": {"per_gb_second": 0.1, "per_million_requests": 0.2, "memory_mb": {"ingest": 1}}},
     "lambda.memory_mb lacks index, verify"),
    ({"s3": {"per_thousand_put": 1}}, "s3.per_thousand_get: Field required"),
    ({"surprise": 1}, "surprise: Extra inputs are not permitted"),
])
def test_each_bad_price_table_is_refused_with_the_file_and_the_field(tmp_path, change, message):
    path = _table(tmp_path, **change)
    with pytest.raises(PriceTableError) as err:
        load_prices(path)
    assert str(err.value).startswith(f"price table {path.resolve()}: ")
    assert message in str(err.value)


def test_unreadable_and_non_json_tables_are_clear_errors(tmp_path):
    with pytest.raises(PriceTableError, match=r"price table .*missing\.json: cannot read it"):
        load_prices(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"as_of": ')
    with pytest.raises(PriceTableError, match=r"price table .*bad\.json: not JSON \(Expecting value: line 1"):
        load_prices(bad)


def test_an_edited_table_is_read_again(tmp_path):
    path = _table(tmp_path)
    assert load_prices(path).currency == "EUR"
    path.write_text(json.dumps({**TABLE, "currency": "JPY"}))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000_000))
    assert load_prices(path).currency == "JPY"


def test_a_task_asking_more_gpus_than_its_instance_has_is_no_silent_price(tmp_path):
    prices = load_prices(_table(tmp_path, task_instances={"big": "x.cpu"}))
    with pytest.raises(PriceTableError, match="task big asks for 1 GPU.*x.cpu has 0: set task_instances.big"):
        prices.share("big", prices.instance_for("big", 1), vcpus=1, gpus=1)


def test_the_shipped_table_is_valid_dated_and_matches_the_deployed_lambda_memory():
    prices = load_prices()
    assert prices.currency == "USD" and prices.as_of is not None
    chalice = json.loads((REPO / ".chalice" / "config.json").read_text())["lambda_functions"]
    for name, mb in prices.lambda_.memory_mb.items():
        assert chalice[name]["lambda_memory_size"] == mb, name
    # The stack's compute environment launches these instance types: each has a price.
    infra = (REPO / "infra" / "newsops.yaml").read_text()
    default = re.search(r'InstanceTypes:\n(?:.*\n)*?\s+Default: "([^"]+)"', infra).group(1)
    assert set(default.split(",")) <= set(prices.instances)
    assert DEFAULT_PRICES_FILE.is_file()


def test_state_transitions_follow_the_pipeline_definition():
    # RunTasks, per task (IsArrayJob, Submit*), then Index and one state per slice, Verify,
    # Verdict, NotifySuccess.
    assert [state_transitions(n) for n in (1, 3)] == [8, 12]
    assert state_transitions(3, index_slices=100) == 12 + 99


def test_visible_gpus_follow_the_environment_the_worker_gets():
    assert visible_gpus({}, 2) == 2
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "1"}, 2) == 1
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "0,-1,1"}, 2) == 1  # CUDA stops at an invalid entry
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": ""}, 2) == 0
    assert visible_gpus({"NEWSOPS_DEVICE": "cpu"}, 2) == 0
    assert visible_gpus({}, 0) == 0
    assert machine_gpus() >= 0


def test_the_readmes_per_million_figures_follow_the_table_and_the_benchmarks():
    """The README's dollar figures are arithmetic on prices.json and bench/results: they move
    together, or this fails."""
    from chalicelib.cost import per_million_articles

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    prices = load_prices()
    p5 = prices.instances["p5.48xlarge"]
    assert f"`as_of` {prices.as_of.isoformat()}" in readme
    assert f"${p5.on_demand_per_hour:.2f}/h for {p5.gpus} H100, so ${p5.on_demand_per_hour / p5.gpus:.2f}" in readme
    for bench in ("infer_gpu_minilm", "infer_gpu_bert_base"):
        rate = json.loads((REPO / "bench" / "results" / f"{bench}.json").read_text())["metrics"][
            "texts_per_s_all_tasks"]
        assert f"{rate} texts/s" in readme, bench
        gpu = per_million_articles(rate, p5)
        assert f"= ${gpu:.2f}" in readme, (bench, gpu)
