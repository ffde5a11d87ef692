"""The end-of-run summary a person reads: per stage counts and seconds, verdict, report path."""

from __future__ import annotations

import sys
from typing import Any

from chalicelib.contract import keys
from chalicelib.runtime import Runtime
from chalicelib.schema import RunReport


def print_run_summary(rt: Runtime, run_id: str) -> int:
    """Prints the summary; returns the exit status (0 only for verdict ok)."""
    run = rt.ledger.get_run(run_id)
    if run is None:
        print(f"no run {run_id}: the input did not start one", file=sys.stderr)
        return 1
    if run.verdict == "rejected":
        print(f"input rejected: {run.detail.get('rejected')} (kept at {run.detail.get('rejected_key')})")
        return 1
    try:
        report = RunReport.model_validate_json(rt.store.get(keys.report(run_id)))
    except KeyError:
        print(f"run {run_id} is {run.state}: no report yet", file=sys.stderr)
        return 1
    a = report.articles
    rows = [
        ("ingest", f"{a.get('input', 0)} articles: {a.get('valid', 0)} valid, "
                   f"{a.get('quarantined', 0)} quarantined", report.timings.get("ingest")),
    ]
    for name, t in report.tasks.items():
        rows.append((f"task {name}", f"{t.chunks_done}/{t.chunks} chunks, {t.records} records, "
                                     f"{t.quarantined} quarantined", t.seconds))
    rows.append(("tasks (wall)", f"{len(report.tasks)} tasks in parallel", report.timings.get("tasks")))
    rows.append(("index", f"{report.indexed} documents indexed, {report.index_failed} failed",
                 report.timings.get("index")))
    rows.append(("verify", f"{len(report.problems)} problems", report.timings.get("verify")))
    print()
    print(f"run {run_id}")
    for stage, what, secs in rows:
        print(f"  {stage:<16} {what:<58} {'' if secs is None else f'{secs:8.2f}s'}")
    for p in report.problems[:20]:
        print(f"  problem: {p}")
    for line in cost_lines(report):
        print(f"  {line}")
    # The ledger has the last word: a report can say ok while the run's end was never recorded
    # (a disk that filled up after the report was written).
    if run.state != "SUCCEEDED" and report.verdict == "ok":
        execution = rt.workflow.describe(run.execution)
        how = f"execution {execution.status}: {execution.error or ''}" if execution else "no execution"
        print(f"  verdict: NOT RECORDED: the run is {run.state} ({how}); see `newsops verify`")
        return 1
    print(f"  verdict: {report.verdict.upper()}")
    print(f"  report:  {rt.store.uri(keys.report(run_id))}")
    return 0 if report.verdict == "ok" and run.state == "SUCCEEDED" else 1


def print_crawl_summary(report: Any) -> None:
    """Per source: fetched, new, duplicate, 304, skipped and errors by reason, bytes, seconds."""
    doc = report.to_dict()
    print()
    print(f"crawl {doc['crawl_id']}: {doc.get('articles', 0)} new articles in {doc.get('seconds', 0):.1f}s"
          f"{' (out of budget: the rest carries over)' if doc.get('out_of_budget') else ''}")
    for name, s in sorted(doc.get("sources", {}).items()):
        extra = ", ".join(f"{k} {v}" for k, v in {**s.get("skipped", {}), **s.get("errors", {})}.items())
        print(f"  {name:<24} fetched {s.get('fetched', 0):>3}  new {s.get('new', 0):>3}  "
              f"duplicate {s.get('duplicate', 0):>3}  304 {s.get('not_modified', 0):>2}  "
              f"{s.get('bytes', 0) / 1024:7.0f} KiB  {extra}")
    print(f"  batch: {doc.get('batch_key') or 'none (nothing new)'}")


def _money(v: float, currency: str) -> str:
    # A small run costs fractions of a cent: significant digits, not cents.
    return f"{v:.2f} {currency}" if v >= 1 else f"{v:.2g} {currency}"


def cost_lines(report: RunReport) -> list[str]:
    """What the run cost, per task and in all (``newsops status RUN`` and the run summary)."""
    c = report.cost
    if c is None:
        return [f"cost: unknown ({report.cost_error})" if report.cost_error else "cost: unknown"]
    lines = []
    for name, t in report.tasks.items():
        u = t.usage
        if u is None:
            continue
        cpu = "CPU s" if u.cpu_measured else "vCPU s"
        lines.append(f"cost {name:<12} {u.job_attempts} attempts ({u.failed_attempts} failed), "
                     f"{u.wall_s:.1f} s wall, {u.cpu_s:.1f} {cpu}, {u.gpu_s:.1f} GPU s on "
                     f"{u.instance_share:g} x {u.instance}: {_money(u.cost, c.currency)}")
    per_1k = "n/a" if c.per_1k_articles is None else _money(c.per_1k_articles, c.currency)
    lines.append(f"cost: {_money(c.total, c.currency)} ({c.capacity.replace('_', '-')} prices of "
                 f"{c.prices_as_of.isoformat()}, {c.region}): jobs {_money(c.compute, c.currency)}, Lambda "
                 f"{_money(c.lambda_functions, c.currency)}, Step Functions {_money(c.step_functions, c.currency)}, "
                 f"S3 {_money(c.s3, c.currency)}; {per_1k} per 1,000 articles")
    return lines


def format_reap(outcome: Any) -> str:
    """What ``newsops reap`` prints: the same human form as ``newsops verify``."""
    stopped = outcome.terminated
    lines = [f"reaper: {len(stopped)} jobs stopped ({outcome.active} active jobs checked; "
             f"{outcome.findings.alerts_sent} alerts sent)"]
    for job in stopped[:20]:
        verb = "stopped" if job.get("terminated") else "could NOT stop"
        lines.append(f"  {verb} {job.get('name') or job.get('job_id')} ({job.get('status')})"
                     f"{' of run ' + job['run_id'] if job.get('run_id') else ''}: {job.get('reason', '')}")
    lines += [f"  runnable too long: {name}" for name in outcome.runnable_too_long[:20]]
    return "\n".join(lines)
