import json
from pathlib import Path

from newsops.cli import main


def test_model_push_promote_list_round_trip_and_refuse_bad_input(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NEWSOPS_HOME", str(tmp_path / "home"))
    model = tmp_path / "m"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "bert"}')
    (model / "weights.bin").write_bytes(b"\0" * 1000)
    assert main(["model", "push", str(model), "--task", "companies", "--version", "v1",
                 "--metrics", '{"f1": 0.9}']) == 0
    pushed = json.loads(capsys.readouterr().out)
    assert pushed["files"] == 2 and pushed["metrics"] == {"f1": 0.9}
    # versions are immutable
    assert main(["model", "push", str(model), "--task", "companies", "--version", "v1"]) == 1
    assert "immutable" in capsys.readouterr().err
    assert main(["model", "promote", "companies", "v1", "--stage", "prod"]) == 0
    capsys.readouterr()
    assert main(["model", "list", "companies"]) == 0
    listed = capsys.readouterr().out.strip().splitlines()
    assert listed[0].split()[:2] == ["version", "stages"]
    assert listed[1].split()[:2] == ["v1", "prod"] and "f1 0.900" in listed[1]
    assert main(["model", "promote", "companies", "v9"]) == 1
    assert main(["model", "push", "package:no_such_model_pkg", "--task", "x", "--version", "1"]) == 1
    assert "not installed" in capsys.readouterr().err
    store = Path(tmp_path / "home" / "store" / "models" / "companies" / "v1")
    assert (store / "MANIFEST.json").exists()
