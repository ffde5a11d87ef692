"""``python -m newsops_batch train|evaluate|register TRAIN_ID``: the jobs of the train state
machine (statemachine/train.asl.json), in the same image as the inference job.

Each step reads ``training/<id>/request.json`` and leaves its output in the object store, so a
retried step starts from the same inputs and a failed execution shows how far it got:

- ``train``: trains on the request's data, writes ``training/<id>/model/`` (with its card);
- ``evaluate``: loads those files as a run would and scores them on the dev data
  (``training/<id>/evaluation.json``), with the same code as ``newsops evaluate``;
- ``register``: pushes the model into the registry as version ``<id>``, its card and dev
  metrics in the manifest; promotes it only when the request says so.

Exit codes as for chunks: 0, RETRYABLE_EXIT (Batch retries), PERMANENT_EXIT (it does not).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from chalicelib import registry
from chalicelib.contract import keys
from chalicelib.contract.exitcodes import PERMANENT_EXIT, RETRYABLE_EXIT
from chalicelib.contract.schema import TrainRequest
from chalicelib.store.base import ObjectStore
from newsops_batch.errors import PermanentError, RetryableError
from newsops_batch.labelled import LabelledDataError, LabelledSet, load, split_by_group

log = logging.getLogger("newsops.batch.trainjob")

STEPS = ("train", "evaluate", "register")
COMPANY_TYPE = "法人名"


def read_request(store: ObjectStore, train_id: str) -> TrainRequest:
    try:
        return TrainRequest.model_validate_json(store.get(keys.training_request(train_id)))
    except KeyError:
        raise PermanentError(f"no training request {keys.training_request(train_id)}") from None
    except ValidationError as exc:
        raise PermanentError(f"invalid training request for {train_id}: {exc}") from None


def datasets(store: ObjectStore, request: TrainRequest, scratch: Path) -> tuple[LabelledSet, LabelledSet | None]:
    """(train, dev) as the request names them: a dev file, a fraction split by group, or none."""
    data = _labelled(store, request.data_key, scratch / "train.jsonl")
    if request.dev_key:
        return data, _labelled(store, request.dev_key, scratch / "dev.jsonl")
    if request.dev_fraction:
        try:
            return split_by_group(data, request.dev_fraction)
        except LabelledDataError as exc:
            raise PermanentError(str(exc)) from None
    return data, None


def _labelled(store: ObjectStore, key: str, dest: Path) -> LabelledSet:
    try:
        dest.write_bytes(store.get(key))
    except KeyError:
        raise PermanentError(f"training data missing: {key}") from None
    try:
        loaded = load(dest)
    except LabelledDataError as exc:
        raise PermanentError(str(exc)) from None
    return LabelledSet(path=key, sha256=loaded.sha256, texts=loaded.texts)


def upload_dir(store: ObjectStore, src: Path, prefix: str) -> None:
    for path in sorted(src.rglob("*")):
        if path.is_file():
            store.put(prefix + path.relative_to(src).as_posix(), path.read_bytes())


def download_prefix(store: ObjectStore, prefix: str, dest: Path) -> Path:
    names = [k for k in store.list(prefix) if not k.endswith("/")]
    if not names:
        raise PermanentError(f"nothing under {prefix}: did the train step finish?")
    for key in names:
        target = dest / key[len(prefix):]
        if not target.resolve().is_relative_to(dest.resolve()):
            raise PermanentError(f"{key} points outside the model directory")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(store.get(key))
    return dest


def run_train(store: ObjectStore, train_id: str, scratch: Path,
              progress: Callable[[Any], None] | None = None) -> dict[str, Any]:
    from newsops_batch.charner import training

    request = read_request(store, train_id)
    train_set, dev_set = datasets(store, request, scratch)
    log.info("training %s on %d texts (%d dev), schedule %s, seed %d", train_id, len(train_set.texts),
             len(dev_set.texts) if dev_set else 0, request.schedule, request.seed)

    def show(report: Any) -> None:
        dev = f"{report.dev_f1:.4f}" if report.dev_f1 is not None else "n/a"
        # One plain line per epoch: the CLI tails it locally, CloudWatch keeps it on AWS.
        print(f"epoch {report.epoch}/{report.epochs} loss {report.loss:.4f} dev F1 {dev} "
              f"({report.seconds:.1f}s)", flush=True)
        if progress is not None:
            progress(report)

    result = training.train(train_set, dev_set, scratch / "model", schedule=request.schedule,
                            seed=request.seed, base=request.base_model, epochs=request.epochs,
                            data_meta=request.data_meta, progress=show)
    upload_dir(store, result.directory, keys.training_model(train_id))
    return result.card


def run_evaluate(store: ObjectStore, train_id: str, scratch: Path) -> dict[str, Any]:
    from newsops_batch.charner import artifact, training

    request = read_request(store, train_id)
    _train, dev_set = datasets(store, request, scratch)
    model_dir = download_prefix(store, keys.training_model(train_id), scratch / "model")
    if dev_set is None:
        evaluation: dict[str, Any] = {"model_version": train_id, "texts": 0,
                                      "note": "no dev data in the request: nothing was scored"}
    else:
        report = training.evaluate_tagger(artifact.load(model_dir), dev_set)
        evaluation = {**report.as_dict(model_version=train_id), "data": dev_set.path,
                      "data_sha256": dev_set.sha256}
    store.put(keys.training_evaluation(train_id), json.dumps(evaluation, ensure_ascii=False, indent=2).encode())
    return evaluation


def metrics_of(evaluation: dict[str, Any], span_type: str = COMPANY_TYPE) -> dict[str, float]:
    exact = (evaluation.get("types") or {}).get(span_type) or {}
    overlap = (evaluation.get("overlap") or {}).get(span_type) or {}
    out = {k: float(exact[k]) for k in ("precision", "recall", "f1") if k in exact}
    if "f1" in overlap:
        out["overlap_f1"] = float(overlap["f1"])
    return out


def run_register(store: ObjectStore, train_id: str, scratch: Path) -> dict[str, Any]:
    from newsops_batch.charner.artifact import CARD

    request = read_request(store, train_id)
    model_dir = download_prefix(store, keys.training_model(train_id), scratch / "model")
    try:
        evaluation = json.loads(store.get(keys.training_evaluation(train_id)))
    except KeyError:
        raise PermanentError(f"no evaluation for {train_id}: the evaluate step did not finish") from None
    card = json.loads((model_dir / CARD).read_text())
    card["evaluation"] = {k: evaluation.get(k) for k in ("data", "data_sha256", "texts", "types",
                                                          "overlap", "micro")}
    (model_dir / CARD).write_text(json.dumps(card, ensure_ascii=False, indent=2))
    existing = registry.list_versions(store, request.task)
    if train_id in existing:
        resolved = registry.resolve(store, request.task, train_id)  # a retried register step
    else:
        resolved = registry.push_model(store, model_dir, task=request.task, version=train_id,
                                       source=keys.training_prefix(train_id),
                                       metrics=metrics_of(evaluation), card=card)
    out: dict[str, Any] = registry.manifest_summary(resolved)
    if request.promote:
        # Who: the person who started the training (their NEWSOPS_ACTOR reaches the job's
        # environment locally; on AWS the job role's session is no person), else "newsops train".
        pointer = registry.promote(store, request.task, train_id, "prod",
                                   reason="first model of the task (newsops train --promote)",
                                   by=os.environ.get("NEWSOPS_ACTOR") or "newsops train")
        out["promoted"] = pointer.stage
    return out


def main(argv: list[str] | None = None, *, store: ObjectStore | None = None) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    p = argparse.ArgumentParser(prog="newsops_batch", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("step", choices=STEPS)
    p.add_argument("train_id", nargs="?", default=os.environ.get("NEWSOPS_TRAIN_ID"),
                   help="the training execution (default: NEWSOPS_TRAIN_ID)")
    args = p.parse_args(argv)
    if not args.train_id:
        p.error("a TRAIN_ID (or NEWSOPS_TRAIN_ID) is required")
    if store is None:
        from newsops_batch.jobstore import job_store

        store = job_store()
    scratch = Path(tempfile.mkdtemp(prefix=f"newsops-train-{args.step}-"))
    steps = {"train": run_train, "evaluate": run_evaluate, "register": run_register}
    try:
        out = steps[args.step](store, args.train_id, scratch)
        log.info("%s %s: done %s", args.step, args.train_id,
                 json.dumps(registry_view(out), ensure_ascii=False)[:2000])
        return 0
    except (PermanentError, registry.RegistryError) as exc:
        log.error("permanent failure (no retry): %s", exc)
        return PERMANENT_EXIT
    except (RetryableError, OSError, MemoryError, TimeoutError, RuntimeError) as exc:
        log.exception("retryable failure: %s", exc)
        return RETRYABLE_EXIT
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def registry_view(out: dict[str, Any]) -> dict[str, Any]:
    """What the log line shows of a step's output: no per-epoch history."""
    return {k: v for k, v in out.items() if k not in ("history", "languages", "confusions")}
