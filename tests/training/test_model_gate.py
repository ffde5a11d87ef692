"""Compare, gate, rollback and history, with two real char-ner versions.

``good`` is trained on the 50 fixture sentences for 6 epochs. ``bad`` is the same tagger made
more reluctant to tag anything (its output bias for "O" raised by 0.5): a real model that finds
about a third fewer spans, 法人名 F1 about 0.19 against 0.33 on the fixture. Deriving it costs
no second training run.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from newsops_batch.charner import artifact, training
from newsops_batch.labelled import load, split_by_group
from safetensors.torch import load_file, save_file

from chalicelib import registry
from chalicelib.clock import ManualClock
from chalicelib.contract import keys
from chalicelib.contract.schema import RunManifest
from chalicelib.factory import build_store
from chalicelib.settings import Settings
from newsops.cli import main
from newsops.modelcli import run_model
from tests.conftest import fake_task
from tests.pipeline_support import jsonl_gz, put_incoming

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "ner50.jsonl"
COMPANIES = {"name": "companies", "kind": "char-ner", "model": "registry:companies", "model_version": "prod",
             "languages": ["ja"], "options": {"types": ["法人名"]}}
# Far from the real clock on purpose: the history must show this clock's times, not the wall's.
T0 = datetime(2031, 5, 2, 8, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict]]:
    """Each version's files and its model card, scored on the fixture as the Evaluate step of
    ``newsops train`` scores a dev file (trainjob.run_evaluate / run_register)."""
    root = tmp_path_factory.mktemp("models")
    data = load(FIXTURE)
    result = training.train(data, None, root / "good", schedule="short", epochs=6, seed=0)
    shutil.copytree(root / "good", root / "bad")
    tags = json.loads((root / "bad" / artifact.CONFIG).read_text())["tags"]
    weights = load_file(root / "bad" / artifact.WEIGHTS)
    weights["out.bias"][tags.index("O")] += 0.5
    save_file(weights, root / "bad" / artifact.WEIGHTS)
    out = {}
    for name in ("good", "bad"):
        report = training.evaluate_tagger(artifact.load(root / name), data).as_dict(model_version=name)
        card = {**result.card, "evaluation": {"data": str(FIXTURE), "data_sha256": data.sha256,
                                              "texts": report["texts"], "types": report["types"],
                                              "overlap": report["overlap"], "micro": report["micro"]}}
        out[name] = (root / name, card)
    return out


@pytest.fixture
def env_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The CLI's home (the same as make_runtime's), the companies task, a private model cache."""
    tasks = tmp_path / "tasks.json"
    tasks.write_text(json.dumps({"tasks": [COMPANIES]}))
    monkeypatch.setenv("NEWSOPS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NEWSOPS_TASKS_FILE", str(tasks))
    monkeypatch.setenv("NEWSOPS_MODEL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("NEWSOPS_ACTOR", "alice")
    return tmp_path / "home"


@pytest.fixture
def home(env_home: Path, models: dict[str, tuple[Path, dict]]) -> Path:
    store = build_store(Settings())
    for name, (path, card) in models.items():
        registry.push_model(store, path, task="companies", version=name, card=card)
    return env_home


def prod(store) -> str:
    pointer = registry.stage_pointer(store, "companies", "prod")
    return pointer.version if pointer else ""


def test_promote_refuses_a_worse_candidate_force_accepts_it_rollback_restores_and_history_shows_all(
        home: Path, models: dict[str, tuple[Path, dict]], capsys: pytest.CaptureFixture[str]) -> None:
    store = build_store(Settings())
    clock = ManualClock(T0)
    assert run_model(["promote", "companies", "good", "--reason", "first model"], clock=clock) == 0
    assert prod(store) == "good"
    capsys.readouterr()

    # No evaluation data yet: refused, and the message says how to register some.
    clock.advance(3600)
    assert run_model(["promote", "companies", "bad"], clock=clock) == 1
    assert "newsops model eval-data companies FILE" in capsys.readouterr().err
    assert run_model(["eval-data", "companies", str(FIXTURE)], clock=clock) == 0
    assert "50 texts" in capsys.readouterr().out

    assert run_model(["promote", "companies", "bad"], clock=clock) == 1
    err = capsys.readouterr().err
    assert "refused" in err and "scores worse than prod" in err and "--force --reason" in err
    assert "candidate bad" in err and "prod good" in err
    assert prod(store) == "good"

    # --force alone is a usage error; with a reason it promotes and records the gate's scores.
    assert run_model(["promote", "companies", "bad", "--force"], clock=clock) == 2
    assert "--force needs --reason" in capsys.readouterr().err
    clock.advance(60)
    assert run_model(["promote", "companies", "bad", "--force", "--reason", "hotfix for a crash",
                      "--by", "bob"], clock=clock) == 0
    assert "gate refused, forced" in capsys.readouterr().out
    assert prod(store) == "bad"

    clock.advance(60)
    assert run_model(["rollback", "companies", "--reason", "F1 dropped on the dev data"], clock=clock) == 0
    assert "rolled back from bad to good" in capsys.readouterr().out
    assert prod(store) == "good"
    assert run_model(["rollback", "companies"], clock=clock) == 1  # nothing before the first model
    assert "no earlier one" in capsys.readouterr().err

    assert run_model(["history", "companies", "--json"], clock=clock) == 0
    events = json.loads(capsys.readouterr().out)
    assert [(e["action"], e["version"], e["previous"], e["forced"]) for e in events] == [
        ("promote", "good", None, False), ("promote", "bad", "good", True), ("rollback", "good", "bad", False)]
    assert [e["by"] for e in events] == ["alice", "bob", "alice"]
    assert [e["reason"] for e in events] == ["first model", "hotfix for a crash", "F1 dropped on the dev data"]
    assert [datetime.fromisoformat(e["at"]) for e in events] == [
        T0, T0 + timedelta(seconds=3660), T0 + timedelta(seconds=3720)]
    gate = events[1]["gate"]
    assert gate["passed"] is False and gate["data_file"] == FIXTURE.name
    assert gate["candidate"]["f1"] < gate["production"]["f1"]
    # Both cards were scored on exactly the registered file: their counts are the scores.
    for side, version in (("candidate", "bad"), ("production", "good")):
        company = models[version][1]["evaluation"]["types"]["法人名"]
        assert gate[side]["source"] == "both from their model cards"
        assert (gate[side]["tp"], gate[side]["fp"], gate[side]["fn"]) == (
            company["tp"], company["fp"], company["fn"])

    assert main(["model", "history", "companies"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    assert "promote (forced)" in lines[2] and "bob: hotfix for a crash" in lines[2]
    assert "2031-05-02 09:31:00" in lines[2] and "vs" in lines[2]
    assert "rollback" in lines[3] and "alice: F1 dropped" in lines[3]


def test_a_better_candidate_passes_the_gate(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["model", "promote", "companies", "bad"]) == 0
    assert main(["model", "eval-data", "companies", str(FIXTURE)]) == 0
    assert main(["model", "promote", "companies", "good", "--reason", "better F1"]) == 0
    assert "gate: good scores no worse than prod" in capsys.readouterr().out
    history = registry.history(build_store(Settings()), "companies")
    assert [(e.version, e.forced, e.by) for e in history] == [("bad", False, "alice"), ("good", False, "alice")]


def test_compare_on_a_run_reports_agreement_and_the_companies_added_and_dropped(
        home: Path, make_runtime, capsys: pytest.CaptureFixture[str]) -> None:
    # A real run of 50 Japanese articles in 3 chunks (its task is a quick stand-in: compare
    # reads the run's chunks, not its results).
    rt = make_runtime(tasks=[fake_task("fake")], chunk_size=20)  # the same home as the CLI's
    texts = load(FIXTURE).texts
    articles = [{"url": f"https://news.example/ja/{i}", "title": f"記事{i}", "body": t.text, "language": "ja"}
                for i, t in enumerate(texts)]
    _, rid = put_incoming(rt, "ja.jsonl.gz", jsonl_gz(articles))
    manifest = RunManifest.model_validate_json(rt.store.get(keys.manifest(rid)))
    assert len(manifest.chunks) == 3
    registry.promote(rt.store, "companies", "good")

    assert main(["model", "compare", "companies", "bad", "--run", rid, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["candidate"]["version"] == "bad" and report["baseline"]["version"] == "good"
    assert report["inputs"]["chunks"] == 3 and report["items"] == report["compared"] == 50
    spans, companies = report["spans"], report["companies"]
    assert 0 < spans["exact"] < spans["baseline"]  # they agree on some spans, not all
    assert 0.0 < spans["exact_f1"] < 1.0
    assert companies["baseline"] > companies["candidate"]  # the better model finds more names
    assert companies["dropped"]["mentions"] == companies["baseline"] - companies["both"] > 0
    assert companies["added"]["mentions"] == companies["candidate"] - companies["both"]
    for entry in companies["dropped"]["top"]:
        assert entry["count"] >= 1 and entry["examples"]
        assert entry["name"] in entry["examples"][0]["context"]  # quoted from its article

    assert main(["model", "compare", "companies", "bad", "--run", rid, "--limit-chunks", "1"]) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert "run " + rid + " (1 of 3 chunks)" in out and "20 inputs: 20 compared" in out
    assert "exact span agreement F1" in out and "companies dropped (baseline only)" in out
    assert "compared 1/1 chunks, 20 articles" in captured.err  # progress

    assert main(["model", "compare", "companies", "good", "--run", rid]) == 1
    assert "same version" in capsys.readouterr().err
    assert main(["model", "compare", "companies", "bad", "--run", "no-such-run"]) == 1
    assert "no run 'no-such-run'" in capsys.readouterr().err


def test_compare_on_labelled_data_gives_evaluate_scores_and_the_gate_evaluates_other_data(
        home: Path, models: dict[str, tuple[Path, dict]], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["model", "compare", "companies", "bad", "--against", "good", "--data", str(FIXTURE),
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["items"] == 50 and report["inputs"]["data_sha256"] == load(FIXTURE).sha256
    # The evaluation is newsops evaluate's (taskeval), which the Evaluate step's card agrees with.
    evaluation = report["evaluation"]
    assert evaluation["baseline"]["model_version"] == "good"
    assert evaluation["baseline"]["types"] == models["good"][1]["evaluation"]["types"]
    assert evaluation["candidate"]["types"] == models["bad"][1]["evaluation"]["types"]

    # Evaluation data no card was scored on: the gate scores both versions now.
    subset = tmp_path / "first30.jsonl"
    subset.write_text("".join(FIXTURE.read_text(encoding="utf-8").splitlines(keepends=True)[:30]),
                      encoding="utf-8")
    assert main(["model", "promote", "companies", "good"]) == 0
    assert main(["model", "eval-data", "companies", str(subset)]) == 0
    capsys.readouterr()
    assert main(["model", "promote", "companies", "bad", "--force", "--reason", "try it"]) == 0
    gate = registry.history(build_store(Settings()), "companies")[-1].gate
    assert gate["candidate"]["source"] == "both evaluated now" and gate["data_file"] == "first30.jsonl"
    gold = load(subset).span_count("法人名")
    for side in ("candidate", "production"):
        assert gate[side]["tp"] + gate[side]["fn"] == gold

    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"text": "x", "entities": [{"span": [0, 5], "type": "法人名"}]}\n')
    assert main(["model", "compare", "companies", "bad", "--data", str(broken)]) == 2
    assert "line 1" in capsys.readouterr().err
    assert main(["model", "eval-data", "companies", str(broken)]) == 2
    assert registry.evaluation_data(build_store(Settings()), "companies").file == "first30.jsonl"


def test_training_registers_its_dev_split_as_evaluation_data_once(make_runtime, tmp_path: Path) -> None:
    from newsops.modeltrain import register_dev_data

    rt = make_runtime(clock=ManualClock(T0))
    printed = tmp_path / "out.txt"
    with printed.open("w") as out:
        register_dev_data(rt, "companies", FIXTURE, dev=None, dev_fraction=0.3, source="newsops train t1", out=out)
        record = registry.evaluation_data(rt.store, "companies")
        assert record is not None and record.registered == T0 and record.source == "newsops train t1"
        held_out = load(FIXTURE)
        _, dev = split_by_group(held_out, 0.3)
        # The stored file is the hold-out itself: same texts and spans, loadable as labelled data.
        stored = tmp_path / "stored.jsonl"
        stored.write_bytes(registry.evaluation_bytes(rt.store, record))
        assert [(t.text, t.spans) for t in load(stored).texts] == [(t.text, t.spans) for t in dev.texts]
        assert record.texts == len(dev.texts) and record.file == "ner50-dev0.3.jsonl"
        # A later training with other dev data leaves it in place and says so.
        register_dev_data(rt, "companies", FIXTURE, dev=FIXTURE, dev_fraction=None, source="t2", out=out)
        assert registry.evaluation_data(rt.store, "companies") == record
    assert "stays ner50-dev0.3.jsonl" in printed.read_text()


def test_compare_embeddings_by_cosine_and_classifiers_by_label(env_home: Path, make_runtime, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    from tests.inference import tinymodels
    from tests.pipeline_support import article

    tasks = tmp_path / "tiny-tasks.json"
    tasks.write_text(json.dumps({"tasks": [
        {"name": "emb", "kind": "embedding", "model": "registry:emb", "model_version": "prod"},
        {"name": "topic", "kind": "text-classification", "model": "registry:topic", "model_version": "prod"}]}))
    monkeypatch.setenv("NEWSOPS_TASKS_FILE", str(tasks))
    store = build_store(Settings())
    for task, kind in (("emb", "embedding"), ("topic", "classifier")):
        for version, seed in (("s0", 0), ("s1", 1)):
            registry.push_model(store, tinymodels.build(tmp_path / f"{task}-{seed}", kind, seed),
                                task=task, version=version)
        # The same bytes again as another version: the comparison must find them identical.
        registry.push_model(store, tmp_path / f"{task}-0", task=task, version="s0-copy")
        registry.promote(store, task, "s0")
    rt = make_runtime(tasks=[fake_task("fake")], chunk_size=8)
    _, rid = put_incoming(rt, "en.jsonl.gz", jsonl_gz([article(i) for i in range(12)]))

    def compare(task: str, version: str) -> dict:
        assert main(["model", "compare", task, version, "--run", rid, "--json"]) == 0
        return json.loads(capsys.readouterr().out)

    same, other = compare("emb", "s0-copy"), compare("emb", "s1")
    assert same["embedding"]["compared"] == other["embedding"]["compared"] == 12
    assert same["embedding"]["mean_cosine"] == pytest.approx(1.0, abs=1e-6)
    assert other["embedding"]["mean_cosine"] < 0.99  # other random weights: other vectors
    same, other = compare("topic", "s0-copy"), compare("topic", "s1")
    assert same["labels"] == {"agreement": 1.0, "compared": 12, "changes": []}
    assert same["identical"] == 12
    assert other["labels"]["compared"] == 12
    changed = sum(c["count"] for c in other["labels"]["changes"])
    assert other["labels"]["agreement"] == pytest.approx((12 - changed) / 12, abs=1e-4)
