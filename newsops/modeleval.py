"""``newsops evaluate TASK --data FILE``: a span task's scores on labelled data, as text or JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HEADLINE_TYPE = "法人名"
METRICS = ("f1", "precision", "recall", "overlap_f1")


def metrics_text(metrics: dict[str, float]) -> str:
    shown = [f"{k} {metrics[k]:.3f}" for k in METRICS if k in metrics]
    return ", ".join(shown) if shown else "no metrics"


def version_lines(store: Any, task: str) -> list[str]:
    """``newsops model list``: every version with its dev metrics and where the stages point."""
    from chalicelib import registry

    stages = {st: registry.stage_pointer(store, task, st) for st in registry.STAGES}
    out = [f"{'version':<48} {'stages':<12} {'created':<20} dev metrics"]
    for version in registry.list_versions(store, task):
        manifest, _ = registry.read_manifest(store, task, version)
        marks = ",".join(st for st, ptr in stages.items() if ptr and ptr.version == version) or "-"
        data = (manifest.card.get("training_data") or {}).get("file") or \
            (manifest.card.get("training_data") or {}).get("path") or ""
        out.append(f"{version:<48} {marks:<12} {manifest.created:%Y-%m-%d %H:%M:%S}  "
                   f"{metrics_text(manifest.metrics)}{'  data ' + data if data else ''}")
    if len(out) == 1:
        out.append(f"(no versions of {task}: `newsops train {task} --data FILE` makes one)")
    return out


def compare_lines(store: Any, task: str, candidate: str, production: str | None) -> list[str]:
    """The candidate's metrics next to the version it replaces, before a promotion."""
    from chalicelib import registry

    cand, _ = registry.read_manifest(store, task, candidate)
    lines = [f"candidate  {candidate}: {metrics_text(cand.metrics)}"]
    if production is None:
        lines.append("production (none yet)")
    else:
        prod, _ = registry.read_manifest(store, task, production)
        lines.append(f"production {production}: {metrics_text(prod.metrics)}")
        same_data = (cand.card.get("evaluation") or {}).get("data_sha256") == \
            (prod.card.get("evaluation") or {}).get("data_sha256")
        if not same_data:
            lines.append("  (scored on different dev data: compare with `newsops evaluate "
                         f"{task} --data FILE --model VERSION` for each)")
    return lines


def format_scores(result: dict[str, Any], title: str) -> str:
    lines = [f"{title}: model {result.get('model_version')}, {result.get('texts')} texts, "
             f"{result.get('seconds', 0):.1f}s"]
    lines.append(f"  {'type':<12} {'P':>6} {'R':>6} {'F1':>6} {'tp':>5} {'fp':>5} {'fn':>5}  overlap F1")
    types = result.get("types") or {}
    order = sorted(types, key=lambda t: (t != HEADLINE_TYPE, t))
    for t in order:
        c = types[t]
        ov = (result.get("overlap") or {}).get(t, {}).get("f1", 0.0)
        lines.append(f"  {t:<12} {c['precision']:>6.3f} {c['recall']:>6.3f} {c['f1']:>6.3f} "
                     f"{c['tp']:>5} {c['fp']:>5} {c['fn']:>5}  {ov:.3f}")
    for language, table in (result.get("languages") or {}).items():
        m = table["micro"]
        lines.append(f"  language {language}: micro P {m['precision']:.3f} R {m['recall']:.3f} F1 {m['f1']:.3f}")
    confusions = result.get("confusions") or {}
    pairs = sorted(((n, g, p) for g, row in confusions.items() for p, n in row.items()), reverse=True)
    if pairs:
        lines.append("  most frequent confusions (gold -> predicted): " + ", ".join(
            f"{g}->{p} {n}" for n, g, p in pairs[:8]))
    return "\n".join(lines)


def evaluate_command(task: str, data: Path, *, version: str | None, as_json: bool,
                     against_stock: bool) -> int:
    from newsops_batch.errors import PermanentError
    from newsops_batch.labelled import LabelledDataError, load
    from newsops_batch.taskeval import evaluate_task, stock_ginza_spec

    from chalicelib.contract.taskconfig import load_tasks
    from chalicelib.factory import build_store
    from chalicelib.settings import Settings

    settings = Settings()
    specs = {t.name: t for t in load_tasks(settings.tasks_file).tasks}
    if task not in specs:
        print(f"newsops evaluate: no task {task!r} in the task config (tasks: {', '.join(specs)})",
              file=sys.stderr)
        return 2
    try:
        labelled = load(data)
    except LabelledDataError as exc:
        print(f"newsops evaluate: {exc}", file=sys.stderr)
        return 2
    store = build_store(settings)
    try:
        result = evaluate_task(store, specs[task], labelled, version).as_dict()
        stock = evaluate_task(store, stock_ginza_spec(task), labelled).as_dict() if against_stock else None
    except PermanentError as exc:
        print(f"newsops evaluate: {exc}", file=sys.stderr)
        return 1
    if as_json:
        out = dict(result)
        if stock is not None:
            out["stock_ginza"] = stock
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return 0
    print(format_scores(result, f"{task} on {data}"))
    if stock is not None:
        print(format_scores(stock, "stock GiNZA on the same texts"))
    return 0
