"""Training the character tagger: deterministic for a given data file and seed.

Every type in the training data is learned (people and places teach the model where a
company is not), the dev split is scored after each epoch with :mod:`newsops_batch.spaneval`,
and the last epoch is the model: a fixed schedule, so the dev figure is never the maximum of
several tries on the same sentences.
"""

from __future__ import annotations

import logging
import os
import random
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from newsops_batch.charner import artifact
from newsops_batch.charner.batching import IGNORE, by_length, collate
from newsops_batch.charner.decode import tag_set
from newsops_batch.charner.features import (
    UNKNOWN_ID,
    Encoded,
    Featurizer,
    load_base,
    vectors_sha256,
)
from newsops_batch.charner.inference import predict, predict_encoded
from newsops_batch.charner.network import TaggerConfig
from newsops_batch.labelled import LabelledSet, LabelledText
from newsops_batch.spaneval import Example, Span, SpanReport, score

log = logging.getLogger("newsops.batch.train")

COMPANY_TYPE = "法人名"


@dataclass(frozen=True)
class Schedule:
    epochs: int
    learning_rate: float = 3e-3
    batch_chars: int = 2048
    batch_texts: int = 32
    clip: float = 5.0
    augment: int = 1  # copies of the training texts with their names swapped
    char_dropout: float = 0.1  # characters shown as unknown, so unseen names are not a surprise


# Sized for two idle CPU cores: short 167 s (what `make demo` waits for), full about 5 minutes.
# Full's 3 epochs were chosen on the shipped dev split: a 6-epoch run peaked at epoch 3 (F1 0.727)
# and ended at 0.692, overfitting; the 3-epoch schedule ends at 0.714.
SCHEDULES: dict[str, Schedule] = {"short": Schedule(epochs=1), "full": Schedule(epochs=3)}


@dataclass(frozen=True)
class EpochReport:
    epoch: int
    epochs: int
    loss: float
    dev_f1: float | None
    seconds: float


@dataclass
class TrainResult:
    directory: Path
    card: dict[str, Any]
    dev: SpanReport | None
    seconds: float


def code_version() -> str:
    """The commit the trainer ran from (NEWSOPS_CODE_VERSION in an image built without git)."""
    if os.environ.get("NEWSOPS_CODE_VERSION"):
        return os.environ["NEWSOPS_CODE_VERSION"]
    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], capture_output=True,
                             text=True, timeout=5, cwd=Path(__file__).parent, check=False)
    except OSError:
        return "unknown"
    return out.stdout.strip() or "unknown"


def augmented(texts: list[LabelledText], copies: int, rng: random.Random) -> list[LabelledText]:
    """Each text again with every name swapped for another training name of its type.

    A model that has seen トヨタ自動車 in only three sentences learns the sentence more than the
    name; swapping names teaches it that the context and the shape of a name both count.
    """
    pool: dict[str, list[str]] = {}
    for t in texts:
        for s in t.spans:
            pool.setdefault(s.type, []).append(t.text[s.start:s.end])
    out: list[LabelledText] = []
    for _ in range(copies):
        for t in texts:
            if not t.spans:
                continue
            parts: list[str] = []
            spans: list[Span] = []
            pos = 0
            length = 0
            for s in t.spans:
                parts.append(t.text[pos:s.start])
                length += s.start - pos
                name = rng.choice(pool[s.type])
                spans.append(Span(length, length + len(name), s.type))
                parts.append(name)
                length += len(name)
                pos = s.end
            parts.append(t.text[pos:])
            out.append(LabelledText(text="".join(parts), spans=tuple(spans), group=t.group,
                                    language=t.language))
    return out


def labels_of(text: LabelledText, tags: tuple[str, ...]) -> np.ndarray:
    index = {t: i for i, t in enumerate(tags)}
    y = np.zeros(len(text.text), dtype=np.int64)
    for s in text.spans:
        if f"B-{s.type}" not in index:
            continue  # a type only the dev file has: the model cannot learn it
        y[s.start] = index[f"B-{s.type}"]
        y[s.start + 1:s.end] = index[f"I-{s.type}"]
    return y


def evaluate_tagger(tagger: artifact.LoadedTagger, data: LabelledSet,
                    encoded: list[Encoded] | None = None) -> SpanReport:
    types = {t[2:] for t in tagger.config.tags if t != "O"}
    if encoded is None:
        predicted = predict(tagger, [t.text for t in data.texts])
    else:
        predicted = predict_encoded(tagger, encoded)
    return score((Example(gold=t.spans, predicted=p, language=t.language)
                  for t, p in zip(data.texts, predicted, strict=True)), types=types)


def train(train_set: LabelledSet, dev_set: LabelledSet | None, out_dir: Path, *,
          schedule: str = "full", seed: int = 0, entities: bool = False, base: str = "ja_ginza",
          hidden: int = 128, epochs: int | None = None, derived_dim: int = 32, context: bool = True,
          data_meta: dict[str, Any] | None = None,
          progress: Callable[[EpochReport], None] | None = None,
          device: str | None = None) -> TrainResult:
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r}: one of {', '.join(SCHEDULES)}")
    plan = SCHEDULES[schedule]
    if epochs is not None:
        if epochs < 1:
            raise ValueError(f"epochs must be at least 1, not {epochs}")
        plan = replace(plan, epochs=epochs)
    started = time.monotonic()
    dev_device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if dev_device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    nlp = load_base(base, entities=entities, context=context)
    pos_probe = Featurizer(nlp, buckets=2, entity_buckets=2, pos=(), entities=False)
    config = TaggerConfig(tags=tag_set(train_set.types), pos=tuple(sorted(pos_probe.tags_of(
        t.text for t in train_set.texts))), base_model=base, base_version=artifact.base_version(base),
        vectors_sha256=vectors_sha256(nlp), entities=entities, hidden=hidden,
        derived_dim=derived_dim, context=context)
    featurizer = Featurizer(nlp, buckets=config.buckets, entity_buckets=config.entity_buckets,
                            pos=config.pos, entities=entities, context=context)
    shuffle = random.Random(seed)
    texts = list(train_set.texts) + augmented(list(train_set.texts), plan.augment, shuffle)
    encoded: list[Encoded] = featurizer.encode(t.text for t in texts)
    labels = [labels_of(t, config.tags) for t in texts]
    dev_encoded = featurizer.encode(t.text for t in dev_set.texts) if dev_set is not None else None
    log.info("features of %d training and %d dev texts in %.1fs", len(encoded),
             len(dev_encoded or ()), time.monotonic() - started)
    model = artifact.build_model(config, nlp).to(dev_device)
    optimizer = torch.optim.Adam(model.trained_parameters(), lr=plan.learning_rate)
    steps_per_epoch = len(by_length([e.length for e in encoded], plan.batch_chars, plan.batch_texts))
    total = max(1, steps_per_epoch * plan.epochs)
    lr_at = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: max(0.05, 1.0 - step / total))
    tagger = artifact.LoadedTagger(config=config, model=model, featurizer=featurizer, device=dev_device)
    dev_report: SpanReport | None = None
    history: list[dict[str, Any]] = []
    for epoch in range(1, plan.epochs + 1):
        t0 = time.monotonic()
        # Jitter the lengths before grouping: batches of similar length, not the same batches.
        jittered = [e.length + shuffle.random() * 8 for e in encoded]
        groups = by_length(jittered, plan.batch_chars, plan.batch_texts)  # type: ignore[arg-type]
        shuffle.shuffle(groups)
        model.train()
        loss_sum = 0.0
        for group in groups:
            batch = collate([encoded[i] for i in group], [labels[i] for i in group], dev_device)
            if plan.char_dropout:
                for name in ("char", "left", "right"):
                    drop = torch.rand(batch[name].shape, device=dev_device) < plan.char_dropout
                    batch[name] = batch[name].masked_fill(drop, UNKNOWN_ID)
            logits = model(batch)
            loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                               batch["y"].reshape(-1), ignore_index=IGNORE)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.trained_parameters(), plan.clip)
            optimizer.step()
            lr_at.step()
            loss_sum += loss.item()
        model.eval()
        dev_report = evaluate_tagger(tagger, dev_set, dev_encoded) if dev_set is not None else None
        report = EpochReport(epoch=epoch, epochs=plan.epochs, loss=loss_sum / max(1, len(groups)),
                             dev_f1=dev_report.f1(COMPANY_TYPE) if dev_report else None,
                             seconds=time.monotonic() - t0)
        history.append(asdict(report))
        if progress is not None:
            progress(report)
    seconds = time.monotonic() - started
    card = {
        "kind": "char-ner",
        "task_type": COMPANY_TYPE,
        "training_data": {"path": Path(train_set.path.split("#")[0]).name, "sha256": train_set.sha256,
                          "rows": len(train_set.texts), "spans": train_set.span_count(),
                          "company_spans": train_set.span_count(COMPANY_TYPE), **(data_meta or {})},
        "dev_data": ({"path": Path(dev_set.path.split("#")[0]).name, "sha256": dev_set.sha256,
                      "rows": len(dev_set.texts)} if dev_set is not None else None),
        "base_model": {"name": base, "version": config.base_version, "vectors_sha256": config.vectors_sha256,
                       "uses": "SudachiPy tokenizer, part-of-speech tags and word vectors"
                               + (", its tok2vec vectors" if context else "")
                               + (", NER labels" if entities else "")},
        "hyperparameters": {"schedule": schedule, **asdict(plan), "hidden": hidden,
                            "layers": config.layers, "dropout": config.dropout, "buckets": config.buckets,
                            "entities": entities, "context": context, "derived_dim": derived_dim},
        "seed": seed,
        "code_version": code_version(),
        "device": str(dev_device),
        "torch": torch.__version__,
        "training_seconds": round(seconds, 1),
        "history": history,
        "dev_metrics": dev_report.as_dict() if dev_report else None,
        "limits": {
            "japanese": ("Trained on Japanese Wikipedia sentences, not news: headlines, tickers and "
                         "names in Latin letters are rarer there and likely scored lower. 法人名 "
                         "includes universities, newspapers, broadcasters and associations, as the "
                         "data labels them."),
            "english": ("English articles are not seen by this model: the companies task hands them "
                        "to spaCy's en_core_web_sm (label ORG), unchanged by any rule. ORG also "
                        "covers agencies, universities, teams and parties; lower-case or all-caps "
                        "names and names that open a sentence are often missed or mislabelled. No "
                        "labelled English text here measures it."),
        },
    }
    artifact.save(out_dir, model, card)
    return TrainResult(directory=out_dir, card=card, dev=dev_report, seconds=seconds)
