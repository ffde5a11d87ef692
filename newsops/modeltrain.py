"""``newsops train TASK --data FILE``: check the labelled data here, put it in the object store,
and start the train state machine (train -> evaluate -> register) on the chosen backend.

Bad data is refused before anything is uploaded or started, with the lines at fault. Locally the
command follows the training job's log and prints each epoch (loss, dev F1) as it ends.
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from chalicelib.contract import keys, modeluri
from chalicelib.contract.schema import TrainRequest
from chalicelib.store.base import ObjectStore

DATASET_META = "DATASET.json"


def data_meta(data: Path) -> dict[str, Any]:
    """Licence and credit of the data, from a DATASET.json beside it (the shipped data has one)."""
    meta_path = data.parent / DATASET_META
    if meta_path.is_file():
        try:
            return dict(json.loads(meta_path.read_text()))
        except ValueError:
            return {"licence": f"unreadable {DATASET_META}"}
    return {"licence": f"not stated (no {DATASET_META} beside {data.name})"}


def train_id_for(task: str, data_sha256: str, seed: int, now: datetime) -> str:
    # At most 20 + 27 characters: the train state machine's alert subjects put the id after
    # their text, and SNS refuses subjects over 100 characters.
    return f"{task[:20]}-{now:%Y%m%d-%H%M%S}-{data_sha256[:8]}-s{seed}"


def prepare_request(store: ObjectStore, task: str, data: Path, *, dev: Path | None,
                    dev_fraction: float | None, schedule: str, seed: int, epochs: int | None,
                    promote: bool, now: datetime) -> TrainRequest:
    """Validate the files (raises LabelledDataError), upload them, write the request."""
    from newsops_batch.labelled import load, split_by_group

    train_set = load(data)
    if dev is not None:
        load(dev)
    elif dev_fraction is not None:
        split_by_group(train_set, dev_fraction)
    train_id = train_id_for(task, train_set.sha256, seed, now)
    data_key = f"{keys.training_prefix(train_id)}data/{data.name}"
    store.put(data_key, data.read_bytes())
    dev_key = None
    if dev is not None:
        dev_key = f"{keys.training_prefix(train_id)}data/dev-{dev.name}"
        store.put(dev_key, dev.read_bytes())
    request = TrainRequest(train_id=train_id, task=task, data_key=data_key, dev_key=dev_key,
                           dev_fraction=dev_fraction, schedule=schedule, epochs=epochs,  # type: ignore[arg-type]
                           seed=seed, data_meta={**data_meta(data), "file": data.name},
                           promote=promote, created=now)
    store.put(keys.training_request(train_id), request.model_dump_json(indent=2).encode())
    return request


def dev_data(data: Path, *, dev: Path | None, dev_fraction: float | None) -> tuple[bytes, str, int] | None:
    """The dev split a training scores on, as a labelled file: (bytes, name, texts); None without one."""
    from newsops_batch.labelled import load, split_by_group

    if dev is not None:
        return dev.read_bytes(), dev.name, len(load(dev).texts)
    if dev_fraction is None:
        return None
    _train, held_out = split_by_group(load(data), dev_fraction)
    lines = [json.dumps({"text": t.text, "entities": [{"span": [s.start, s.end], "type": s.type}
                                                      for s in t.spans],
                         "curid": t.group, "language": t.language}, ensure_ascii=False)
             for t in held_out.texts]
    return ("\n".join(lines) + "\n").encode(), f"{data.stem}-dev{dev_fraction:g}.jsonl", len(lines)


def register_dev_data(rt: Any, task: str, data: Path, *, dev: Path | None, dev_fraction: float | None,
                      source: str, out: Any = sys.stdout) -> None:
    """Make the training's dev split the task's evaluation data (what ``newsops model promote``
    scores candidates on) when the task has none yet; a registered file is never replaced
    behind the user's back, since every later candidate is compared on it."""
    from chalicelib import registry

    split = dev_data(data, dev=dev, dev_fraction=dev_fraction)
    if split is None:
        return
    raw, name, texts = split
    current = registry.evaluation_data(rt.store, task)
    if current is None:
        record = registry.set_evaluation_data(rt.store, task, raw, file=name, texts=texts,
                                              source=source, clock=rt.clock)
        print(f"  evaluation data of {task}: {record.file} ({record.texts} texts); promotions to prod "
              "are scored on it", file=out, flush=True)
    elif current.sha256 != hashlib.sha256(raw).hexdigest():
        print(f"  evaluation data of {task} stays {current.file} (sha256 {current.sha256[:12]}…); "
              f"`newsops model eval-data {task} FILE` replaces it", file=out, flush=True)


def follow_log(path_of: Any, stop: threading.Event, out: Any = sys.stdout) -> None:
    """Print the training job's epoch lines as they are written (local backend)."""
    seen = 0
    while not stop.wait(0.5):
        path = path_of()
        if path is None or not path.exists():
            continue
        lines = path.read_text(errors="replace").splitlines()
        for line in lines[seen:]:
            if line.startswith("epoch "):
                print(f"  {line}", file=out, flush=True)
        seen = len(lines)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def elapsed(started: float) -> str:
    return f"{time.monotonic() - started:.0f}s"


def _newest_log(directory: Path) -> Path | None:
    logs = sorted(directory.glob("*.log"), key=lambda p: p.stat().st_mtime) if directory.is_dir() else []
    return logs[-1] if logs else None


def train_locally(rt: Any, request: TrainRequest, out: Any = sys.stdout) -> tuple[Any, Path]:
    """Run the train state machine here, printing each epoch as the job logs it; returns the
    execution and the job's log directory."""
    from chalicelib.training import local_log_dir, start_training

    stop = threading.Event()
    log_dir = local_log_dir(rt.settings, request.train_id)
    follower = threading.Thread(target=follow_log, args=(lambda: _newest_log(log_dir), stop, out), daemon=True)
    follower.start()
    try:
        return start_training(rt, request), log_dir
    finally:
        stop.set()
        follower.join(timeout=2)


def train_command(args: Any) -> int:
    from newsops_batch.labelled import LabelledDataError

    from chalicelib import registry
    from chalicelib.training import start_training
    from newsops.local import local_runtime
    from newsops.modeleval import metrics_text

    overrides: dict[str, Any] = {"backend": "aws"} if args.backend == "aws" else {}
    with local_runtime(**overrides) as rt:
        specs = {t.name: t for t in rt.tasks.tasks}
        spec = specs.get(args.task)
        if spec is None or spec.kind != "char-ner":
            kinds = ", ".join(f"{n} ({t.kind})" for n, t in specs.items())
            print(f"newsops train: {args.task!r} is not a char-ner task of the task config ({kinds}); "
                  "training makes char-ner models", file=sys.stderr)
            return 2
        task = modeluri.registry_task(spec.model) or args.task
        if args.promote and registry.stage_pointer(rt.store, task, "prod") is not None:
            print(f"newsops train: {task} already has a prod model; train without --promote and "
                  f"compare with `newsops model promote {task} VERSION`", file=sys.stderr)
            return 2
        try:
            request = prepare_request(rt.store, task, args.data, dev=args.dev,
                                      dev_fraction=args.dev_fraction, schedule=args.schedule,
                                      seed=args.seed, epochs=args.epochs, promote=args.promote,
                                      now=rt.clock.utcnow())
        except LabelledDataError as exc:
            print(f"newsops train: {exc}", file=sys.stderr)
            return 2
        register_dev_data(rt, task, args.data, dev=args.dev, dev_fraction=args.dev_fraction,
                          source=f"newsops train {request.train_id}")
        started = time.monotonic()
        print(f"training {request.train_id} ({args.schedule} schedule, seed {args.seed}) on {args.data}",
              flush=True)
        if args.backend == "aws":
            execution = start_training(rt, request)
            print(f"started execution {execution.name}: {execution.status}; the model is registered "
                  f"as {task}/{request.train_id} when it succeeds")
            return 0
        execution, log_dir = train_locally(rt, request)
        if execution.status != "SUCCEEDED":
            print(f"training {request.train_id} {execution.status} after {elapsed(started)}: "
                  f"{execution.error or ''} {execution.cause or ''}\n  logs: {log_dir.parent}", file=sys.stderr)
            return 1
        resolved = registry.resolve(rt.store, task, request.train_id)
        stage = registry.stage_pointer(rt.store, task, "prod")
        print(f"registered {task}/{resolved.version} in {elapsed(started)}: dev {metrics_text(resolved.manifest.metrics)}"
              f"{' (promoted to prod)' if stage and stage.version == resolved.version else ''}")
        print(f"  model card: newsops model list {task}; files under {keys.model_prefix(task, resolved.version)}")
        return 0


SHIPPED_DATA = Path(__file__).resolve().parents[1] / "data" / "ner-ja-stockmark"


def ensure_task_model(rt: Any, task_name: str = "companies", *, out: Any = sys.stdout) -> str | None:
    """The demo's first step: a char-ner task whose registry has no prod model gets one, trained
    on the shipped data on the short schedule through the train state machine, and promoted.
    Returns the prod version, or None when the task does not use a registry model."""
    from chalicelib import registry

    spec = next((t for t in rt.tasks.tasks if t.name == task_name), None)
    task = modeluri.registry_task(spec.model) if spec is not None and spec.kind == "char-ner" else None
    if task is None:
        return None
    current = registry.stage_pointer(rt.store, task, "prod")
    if current is not None:
        return current.version
    print(f"no prod model for {task} yet: training one on {SHIPPED_DATA.name} (short schedule, "
          "train -> evaluate -> register -> promote)", file=out, flush=True)
    started = time.monotonic()
    request = prepare_request(rt.store, task, SHIPPED_DATA / "train.jsonl", dev=SHIPPED_DATA / "dev.jsonl",
                              dev_fraction=None, schedule="short", seed=0, epochs=None, promote=True,
                              now=rt.clock.utcnow())
    register_dev_data(rt, task, SHIPPED_DATA / "train.jsonl", dev=SHIPPED_DATA / "dev.jsonl",
                      dev_fraction=None, source=f"make demo {request.train_id}", out=out)
    execution, log_dir = train_locally(rt, request, out)
    if execution.status != "SUCCEEDED":
        raise RuntimeError(f"training {request.train_id} {execution.status}: {execution.error} "
                           f"{execution.cause}; logs under {log_dir.parent}")
    print(f"  trained and promoted {task}/{request.train_id} in {elapsed(started)}", file=out, flush=True)
    return request.train_id


def stock_ginza_scores(rt: Any, data: Path) -> dict[str, Any]:
    """Stock GiNZA on a labelled file, computed once per file and GiNZA version (it never changes)."""
    from newsops_batch.charner.artifact import base_version
    from newsops_batch.labelled import load
    from newsops_batch.taskeval import evaluate_task, stock_ginza_spec

    labelled = load(data)
    key = f"evaluations/stock-ginza/{base_version('ja_ginza')}-{labelled.sha256[:16]}.json"
    try:
        return dict(json.loads(rt.store.get(key)))
    except KeyError:
        pass
    result = evaluate_task(rt.store, stock_ginza_spec(), labelled).as_dict()
    rt.store.put(key, json.dumps(result, ensure_ascii=False).encode())
    return result


def print_dev_comparison(rt: Any, task: str, version: str, *, out: Any = sys.stdout) -> None:
    """The trained model's dev-split scores (from its registered evaluation) next to stock GiNZA's
    on the same sentences."""
    from chalicelib import registry

    manifest, _ = registry.read_manifest(rt.store, task, version)
    evaluation = manifest.card.get("evaluation") or {}
    dev = SHIPPED_DATA / "dev.jsonl"
    if evaluation.get("data_sha256") != hashlib.sha256(dev.read_bytes()).hexdigest():
        print(f"  {task}/{version} was not scored on {dev.name}: `newsops evaluate {task} --data "
              f"{dev} --against-stock` compares it", file=out)
        return
    stock = stock_ginza_scores(rt, dev)
    ours = (evaluation.get("types") or {}).get("法人名") or {}
    theirs = (stock.get("types") or {}).get("法人名") or {}
    print(f"Japanese company names (法人名), exact spans, on the dev split ({evaluation.get('texts')} "
          f"Wikipedia sentences never trained on):", file=out)
    for name, row in ((f"trained {version}", ours), ("stock GiNZA", theirs)):
        print(f"  {name:<52} P {row.get('precision', 0):.3f}  R {row.get('recall', 0):.3f}  "
              f"F1 {row.get('f1', 0):.3f}", file=out)
