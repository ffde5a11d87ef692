"""``newsops model compare``: two versions of a task's model on the same inputs, in this process.

The inputs are a run's chunks (``--run``: the articles exactly as its jobs read them) or a
labelled file (``--data``). Both versions are loaded as a run loads them (registry pin and
checksums, ``newsops_batch.tasks.load_runner``), and the report says how far they agree:

- span tasks: exact span agreement (F1 of one version's spans against the other's: same start,
  end and type), label agreement (of the spans with the same boundaries, the share with the same
  type), and the companies one version finds in an article and the other does not (normalised
  names, with counts and example articles);
- embedding tasks: the mean cosine between the two versions' vectors of each article;
- classification tasks: the share of articles given the same label, and the commonest changes.

With ``--data``, each version is also scored on the labels by ``newsops evaluate``'s code
(``newsops_batch.taskeval.evaluate_task``), so the figures equal what that command prints.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from chalicelib.contract import keys, modeluri
from chalicelib.contract.schema import Article, RunManifest, TaskSpec
from chalicelib.jsonl import decode
from chalicelib.store.base import ObjectStore

SPAN_KINDS = ("char-ner", "spacy-ner", "token-classification")
EVALUATED_KINDS = ("char-ner", "spacy-ner")  # what newsops evaluate scores
TOP_NAMES = 10
EXAMPLES_PER_NAME = 2
CONTEXT_CHARS = 24


class CompareError(Exception):
    """A comparison that cannot run as asked (unknown run, wrong kind, no such version)."""


@dataclass(frozen=True)
class Item:
    """One input: what both versions see."""

    id: str
    text: str
    language: str
    article: Article | None = None


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    type: str


@dataclass
class Output:
    """One version's answer for one item; ``skipped``: the task does not handle it."""

    spans: list[Span] | None = None
    companies: dict[str, str] | None = None  # company key -> normalised name
    embedding: list[float] | None = None
    label: str | None = None
    error: str | None = None
    skipped: bool = False


@dataclass
class NameCount:
    name: str
    count: int = 0
    examples: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Tally:
    """Running totals, one item at a time, so a long run is never held in memory."""

    items: int = 0
    compared: int = 0
    skipped: int = 0
    errors: dict[str, int] = field(default_factory=lambda: {"candidate": 0, "baseline": 0})
    identical: int = 0
    spans: dict[str, int] = field(default_factory=lambda: {"candidate": 0, "baseline": 0,
                                                           "exact": 0, "same_bounds": 0})
    companies: dict[str, int] = field(default_factory=lambda: {"candidate": 0, "baseline": 0,
                                                               "both": 0})
    added: dict[str, NameCount] = field(default_factory=dict)
    dropped: dict[str, NameCount] = field(default_factory=dict)
    cosines: list[float] = field(default_factory=list)
    labels_same: int = 0
    labels_compared: int = 0
    label_changes: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add(self, item: Item, cand: Output, base: Output) -> None:
        self.items += 1
        if cand.skipped and base.skipped:
            self.skipped += 1
            return
        if cand.error or base.error:
            self.errors["candidate"] += bool(cand.error)
            self.errors["baseline"] += bool(base.error)
            return
        self.compared += 1
        if cand.spans is not None and base.spans is not None:
            c, b = set(cand.spans), set(base.spans)
            self.spans["candidate"] += len(c)
            self.spans["baseline"] += len(b)
            self.spans["exact"] += len(c & b)
            self.spans["same_bounds"] += len({(s.start, s.end) for s in c} & {(s.start, s.end) for s in b})
            self.identical += c == b
        if cand.companies is not None and base.companies is not None:
            ck, bk = set(cand.companies), set(base.companies)
            self.companies["candidate"] += len(ck)
            self.companies["baseline"] += len(bk)
            self.companies["both"] += len(ck & bk)
            for key in sorted(ck - bk):
                _count(self.added, key, cand.companies[key], item)
            for key in sorted(bk - ck):
                _count(self.dropped, key, base.companies[key], item)
            if cand.spans is None:
                self.identical += ck == bk
        if cand.embedding is not None and base.embedding is not None:
            self.cosines.append(_cosine(cand.embedding, base.embedding))
        if cand.label is not None and base.label is not None:
            self.labels_compared += 1
            if cand.label == base.label:
                self.labels_same += 1
                self.identical += 1
            else:
                self.label_changes[(base.label, cand.label)] += 1


def _count(table: dict[str, NameCount], key: str, name: str, item: Item) -> None:
    entry = table.setdefault(key, NameCount(name=name))
    entry.count += 1
    if len(entry.examples) < EXAMPLES_PER_NAME:
        at = item.text.find(name)
        context = item.text[max(0, at - CONTEXT_CHARS):at + len(name) + CONTEXT_CHARS] if at >= 0 else ""
        entry.examples.append({"id": item.id, "context": " ".join(context.split())})


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else 0.0


def _f1(tp: int, a: int, b: int) -> float:
    """F1 of one set against the other: symmetric, 1.0 when both are empty."""
    return 2 * tp / (a + b) if a + b else 1.0


@dataclass
class CompareReport:
    task: str
    kind: str
    candidate: dict[str, str]
    baseline: dict[str, str]
    inputs: dict[str, Any]
    tally: Tally
    evaluation: dict[str, dict[str, Any]] | None = None

    def as_dict(self) -> dict[str, Any]:
        t = self.tally
        out: dict[str, Any] = {
            "task": self.task, "kind": self.kind, "candidate": self.candidate,
            "baseline": self.baseline, "inputs": self.inputs,
            "items": t.items, "compared": t.compared, "skipped": t.skipped, "errors": t.errors,
            "identical": t.identical,
        }
        if self.kind in SPAN_KINDS:
            s = t.spans
            out["spans"] = {**s, "exact_f1": round(_f1(s["exact"], s["candidate"], s["baseline"]), 4),
                            "label_agreement": round(s["exact"] / s["same_bounds"], 4)
                            if s["same_bounds"] else None}
            c = t.companies
            out["companies"] = {
                **c, "agreement_f1": round(_f1(c["both"], c["candidate"], c["baseline"]), 4),
                "added": _names(t.added), "dropped": _names(t.dropped)}
        if t.cosines:
            out["embedding"] = {"mean_cosine": round(sum(t.cosines) / len(t.cosines), 6),
                                "min_cosine": round(min(t.cosines), 6), "compared": len(t.cosines)}
        if t.labels_compared:
            out["labels"] = {"agreement": round(t.labels_same / t.labels_compared, 4),
                             "compared": t.labels_compared,
                             "changes": [{"from": a, "to": b, "count": n}
                                         for (a, b), n in t.label_changes.most_common(TOP_NAMES)]}
        if self.evaluation is not None:
            out["evaluation"] = self.evaluation
        return out


def _names(table: dict[str, NameCount]) -> dict[str, Any]:
    top = sorted(table.values(), key=lambda e: (-e.count, e.name))[:TOP_NAMES]
    return {"mentions": sum(e.count for e in table.values()), "names": len(table),
            "top": [{"name": e.name, "count": e.count, "examples": e.examples} for e in top]}


# -- inputs ------------------------------------------------------------------------------------

def read_run(store: ObjectStore, run_id: str) -> RunManifest:
    try:
        return RunManifest.model_validate_json(store.get(keys.manifest(run_id)))
    except KeyError:
        raise CompareError(f"no run {run_id!r} (no {keys.manifest(run_id)} in the store): "
                           "`newsops status` lists the runs") from None
    except ValidationError as exc:
        raise CompareError(f"the manifest of run {run_id} is unreadable: {exc}") from None


def run_chunks(store: ObjectStore, manifest: RunManifest, limit: int | None = None) -> Iterator[list[Item]]:
    """The run's chunks as its jobs read them; a line that is not a valid article is left out,
    as the job quarantines it."""
    from newsops_batch.tasks import article_text

    for info in manifest.chunks[:limit]:
        try:
            records = decode(store.get(info.key))
        except KeyError:
            raise CompareError(f"chunk {info.index} of run {manifest.run_id} is missing "
                               f"({info.key})") from None
        items = []
        for record in records:
            try:
                article = Article.model_validate(record)
            except ValidationError:
                continue
            items.append(Item(id=article.id or "", text=article_text(article),
                              language=article.language or "und", article=article))
        yield items


def labelled_items(data: Any) -> list[Item]:
    """A labelled file's texts (``newsops_batch.labelled.LabelledSet``) as inputs."""
    return [Item(id=f"{t.group}#{n}", text=t.text, language=t.language)
            for n, t in enumerate(data.texts, 1)]


# -- predictions -------------------------------------------------------------------------------

class Side:
    """One version of the task, loaded once, answering item batches."""

    def __init__(self, store: ObjectStore, spec: TaskSpec, version: str) -> None:
        from newsops_batch.errors import PermanentError
        from newsops_batch.taskeval import model_ref
        from newsops_batch.tasks import JobContext, load_runner

        try:
            self.ref = model_ref(store, spec, version)
            self.runner: Any = load_runner(spec, JobContext(store=store, model=self.ref))
        except PermanentError as exc:
            raise CompareError(str(exc)) from None
        self.spec = spec

    def lineage(self) -> dict[str, str]:
        return self.ref.lineage()

    def outputs(self, items: Sequence[Item]) -> list[Output]:
        from newsops_batch.companynames import company_key, normalize_company
        from newsops_batch.tasks import handles

        out = [Output(skipped=True) for _ in items]
        runner = self.runner
        if self.spec.kind in ("char-ner", "spacy-ner"):
            by_language: dict[str, list[int]] = defaultdict(list)
            for i, item in enumerate(items):
                if _handles_language(self.spec, runner, item, handles):
                    by_language[item.language].append(i)
            for language, idx in by_language.items():
                texts = [items[i].text for i in idx]
                try:
                    found = _typed_spans(runner, texts, language)
                except Exception as exc:  # noqa: BLE001 - counted as this version's errors
                    for i in idx:
                        out[i] = Output(error=f"{type(exc).__name__}: {exc}")
                    continue
                company_types = set(getattr(runner, "types", ())) or None
                for i, spans in zip(idx, found, strict=True):
                    text = items[i].text
                    names = {company_key(text[s.start:s.end]): normalize_company(text[s.start:s.end])
                             for s in spans if company_types is None or s.type in company_types}
                    out[i] = Output(spans=spans, companies={k: v for k, v in names.items() if k})
            return out
        articles = [item.article for item in items]
        if any(a is None for a in articles):
            raise CompareError(f"task kind {self.spec.kind} compares on a run's articles (--run)")
        results = runner.run(articles)
        for i, result in enumerate(results):
            out[i] = _output_of(result, normalize_company, company_key)
        return out


def _handles_language(spec: TaskSpec, runner: Any, item: Item, handles: Callable[..., bool]) -> bool:
    if item.article is not None and not handles(spec, item.article):
        return False
    if spec.languages is not None and item.language not in spec.languages:
        return False
    if hasattr(runner, "_handled"):  # char-ner: its model languages, or a spaCy fallback
        return bool(runner._handled(item.language))
    return runner._uri(item.language) is not None  # spacy-ner: a pipeline for the language


def _typed_spans(runner: Any, texts: list[str], language: str) -> list[list[Span]]:
    if hasattr(runner, "spans"):  # char-ner: every type the tagger knows
        return [[Span(s.start, s.end, s.type) for s in found] for found in runner.spans(texts, language)]
    return [[Span(m.start, m.end, m.label) for m in found] for found in runner.mentions(texts, language)]


def _output_of(result: Any, normalize: Callable[[str], str], key: Callable[[str], str]) -> Output:
    if isinstance(result, Exception):
        return Output(error=f"{type(result).__name__}: {result}")
    if result.get("skipped"):
        return Output(skipped=True)
    if "companies" in result:
        entries = result["companies"]
        return Output(spans=[Span(int(c["start"]), int(c["end"]), str(c.get("label", ""))) for c in entries],
                      companies={key(c["name"]): c.get("normalized") or normalize(c["name"]) for c in entries})
    if "embedding" in result:
        return Output(embedding=[float(x) for x in result["embedding"]])
    if "label" in result:
        return Output(label=str(result["label"]))
    return Output(error=f"unrecognised output: {sorted(result)}")


# -- the comparison --------------------------------------------------------------------------

def resolve_spec(tasks: Sequence[TaskSpec], task: str) -> TaskSpec:
    """The configured task whose model is ``registry:<task>`` (by task name or registry name)."""
    by_name = next((t for t in tasks if t.name == task), None)
    if by_name is not None and modeluri.registry_task(by_name.model) is not None:
        return by_name
    users = [t for t in tasks if modeluri.registry_task(t.model) == task]
    if users:
        return users[0]
    if by_name is not None:
        raise CompareError(f"task {task} uses {by_name.model}, not a registry model: there are no "
                           "versions to compare")
    raise CompareError(f"no task of the task config uses registry:{task} "
                       f"(tasks: {', '.join(t.name for t in tasks)})")


def compare(store: ObjectStore, spec: TaskSpec, candidate: str, against: str,
            batches: Iterator[list[Item]], *, inputs: dict[str, Any],
            progress: Callable[[int, int], None] | None = None) -> CompareReport:
    """Run both versions on every batch and tally their agreement.

    ``progress(batches_done, items_done)`` is called after each batch.
    """
    cand = Side(store, spec, candidate)
    base = Side(store, spec, against)
    if cand.ref.version == base.ref.version:
        raise CompareError(f"{candidate} and {against} are the same version ({cand.ref.version})")
    tally = Tally()
    done = 0
    for items in batches:
        if items:
            for item, c, b in zip(items, cand.outputs(items), base.outputs(items), strict=True):
                tally.add(item, c, b)
        done += 1
        if progress is not None:
            progress(done, tally.items)
    return CompareReport(task=spec.name, kind=spec.kind,
                         candidate={**cand.lineage(), "asked": candidate},
                         baseline={**base.lineage(), "asked": against}, inputs=inputs, tally=tally)


def evaluate_both(store: ObjectStore, spec: TaskSpec, data: Any, candidate: str,
                  against: str) -> dict[str, dict[str, Any]]:
    """``newsops evaluate`` of both versions on the labelled data."""
    from newsops_batch.errors import PermanentError
    from newsops_batch.taskeval import evaluate_task

    if spec.kind not in EVALUATED_KINDS:
        raise CompareError(f"task {spec.name} is of kind {spec.kind}: --data scores span tasks "
                           f"({', '.join(EVALUATED_KINDS)}); compare it on a run with --run")
    try:
        return {"candidate": evaluate_task(store, spec, data, candidate).as_dict(),
                "baseline": evaluate_task(store, spec, data, against).as_dict()}
    except PermanentError as exc:
        raise CompareError(str(exc)) from None


# -- text ------------------------------------------------------------------------------------------

def report_lines(report: dict[str, Any]) -> list[str]:
    """The report as ``newsops model compare`` prints it."""
    cand, base = report["candidate"], report["baseline"]
    base_name = base["version"] if base["asked"] == base["version"] else f"{base['asked']} ({base['version']})"
    lines = [f"{report['task']} ({report['kind']}): candidate {cand['version']} vs {base_name} "
             f"on {report['inputs']['source']}",
             f"  {report['items']} inputs: {report['compared']} compared, {report['skipped']} not "
             f"handled by the task, errors candidate {report['errors']['candidate']} / "
             f"{base['version']} {report['errors']['baseline']}; identical output on "
             f"{report['identical']} of {report['compared']}"]
    if "spans" in report:
        s = report["spans"]
        label = f"{s['label_agreement']:.3f}" if s["label_agreement"] is not None else "n/a"
        lines.append(f"  spans: candidate {s['candidate']}, {base['version']} {s['baseline']}; exact span "
                     f"agreement F1 {s['exact_f1']:.3f} ({s['exact']} identical); same boundaries "
                     f"{s['same_bounds']}, label agreement {label}")
        c = report["companies"]
        lines.append(f"  companies per article: candidate {c['candidate']}, {base['version']} "
                     f"{c['baseline']}, both {c['both']} (agreement F1 {c['agreement_f1']:.3f})")
        for title, key in (("added (candidate only)", "added"), ("dropped (baseline only)", "dropped")):
            table = c[key]
            lines.append(f"  companies {title}: {table['mentions']} in articles, {table['names']} names")
            for e in table["top"]:
                example = e["examples"][0] if e["examples"] else {}
                lines.append(f"    {e['name']} ×{e['count']}"
                             + (f"  e.g. {example['id']}: …{example['context']}…" if example else ""))
    if "embedding" in report:
        e = report["embedding"]
        lines.append(f"  embedding: mean cosine {e['mean_cosine']:.4f} (min {e['min_cosine']:.4f}) "
                     f"over {e['compared']} articles")
    if "labels" in report:
        lab = report["labels"]
        lines.append(f"  labels: agreement {lab['agreement']:.3f} over {lab['compared']} articles")
        for ch in lab["changes"]:
            lines.append(f"    {ch['from']} -> {ch['to']} ×{ch['count']}")
    return lines
