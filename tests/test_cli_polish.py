"""The rough edges a new user hits on the command line (issue: faults on one machine, item 7)."""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from newsops.cli import build_parser
from newsops.cli import main as cli_main
from tests.conftest import fake_task
from tests.pipeline_support import article, jsonl_gz, put_incoming

REPO = Path(__file__).resolve().parents[1]


def _subparsers(parser: argparse.ArgumentParser, path: str = "newsops"):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _subparsers(child, f"{path} {name}")


def test_every_argument_of_every_command_says_what_it_is():
    missing = [f"{path} {action.dest}" for path, parser in _subparsers(build_parser())
               for action in parser._actions
               if not isinstance(action, argparse._HelpAction | argparse._SubParsersAction)
               and not action.help]
    assert missing == []


def _cli(args: list[str], env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "newsops.cli", *args], capture_output=True, text=True,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", **env}, cwd=REPO, timeout=120,
                          input=stdin)


@pytest.mark.parametrize("env, args, says", [
    ({"NEWSOPS_BACKEND": "gcp"}, ["status"], "NEWSOPS_BACKEND"),
    ({}, ["serve", "--host", "0.0.0.0"], "loopback"),
])
def test_configuration_errors_are_one_line_and_exit_2(tmp_path, env, args, says):
    done = _cli(args, {"NEWSOPS_HOME": str(tmp_path / "home"), **env})
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if "configuration error" in line]
    assert len(errors) == 1 and says in errors[0]
    assert "Traceback" not in done.stderr


def test_an_unusable_home_is_a_configuration_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    done = _cli(["status"], {"NEWSOPS_HOME": str(blocker / "home")})
    assert done.returncode == 2 and "NEWSOPS_HOME" in done.stderr and "Traceback" not in done.stderr
    verbose = _cli(["-v", "status"], {"NEWSOPS_HOME": str(blocker / "home")})
    assert verbose.returncode == 2 and "Traceback" in verbose.stderr  # -v shows where


def test_a_port_in_use_is_a_configuration_error(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _cli(["serve", "--port", str(port)], {"NEWSOPS_HOME": str(tmp_path / "home")})
    assert done.returncode == 2 and f"port {port}" in done.stderr and "Traceback" not in done.stderr


@pytest.fixture
def indexed(make_runtime, monkeypatch):
    rt = make_runtime(tasks=[fake_task("alpha")], chunk_size=50)
    _, rid = put_incoming(rt, "many.jsonl.gz", jsonl_gz([article(i) for i in range(120)]))
    assert rt.ledger.get_run(rid).state == "SUCCEEDED"
    monkeypatch.setenv("NEWSOPS_HOME", str(rt.settings.home))
    monkeypatch.setenv("NEWSOPS_TASKS_FILE", str(rt.settings.tasks_file))
    return rt


def test_search_says_how_many_it_shows_and_refuses_unknown_names(indexed, capsys):
    assert cli_main(["search", "revenue"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("120 articles") and "showing 1-10" in first and "--offset 10" in first
    assert cli_main(["search", "--similar", "no-such-article"]) == 1
    assert "no article 'no-such-article'" in capsys.readouterr().err


def test_a_closed_pipe_ends_quietly(indexed):
    # 100 hits of JSON is far more than a pipe holds: the writer meets the closed pipe.
    done = subprocess.run(f"{sys.executable} -m newsops.cli search revenue --size 100 --json | head -c 100",
                          shell=True, capture_output=True, text=True, cwd=REPO, timeout=120,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert len(done.stdout) == 100
    assert "BrokenPipeError" not in done.stderr and "Traceback" not in done.stderr


def test_reap_and_verify_print_prose_and_json_on_request(indexed, capsys):
    assert cli_main(["reap"]) == 0
    assert capsys.readouterr().out.startswith("reaper: 0 jobs stopped")
    assert cli_main(["reap", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["terminated"] == []
    cli_main(["verify", "--json"])
    assert json.loads(capsys.readouterr().out)["runs_checked"] >= 1


def test_a_run_that_went_well_is_a_notice_not_an_alert(indexed, caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="newsops.alerts"):
        put_incoming(indexed, "more.jsonl.gz", jsonl_gz([article(i) for i in range(200, 203)]))
    lines = [r.getMessage() for r in caplog.records if r.name == "newsops.alerts"]
    assert any(m.startswith("notice newsops run ok") for m in lines)
    assert not any(m.startswith("ALERT") for m in lines)


def test_unknown_task_names_are_errors(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NEWSOPS_HOME", str(tmp_path / "home"))
    assert cli_main(["model", "list", "nope"]) == 2
    assert "unknown task 'nope'" in capsys.readouterr().err
    assert cli_main(["model", "history", "nope"]) == 2
    assert cli_main(["replay", "--task", "nope", "--from", "2026-11-01", "--to", "2026-11-02"]) == 2
    assert cli_main(["status", "no-such-run"]) == 1
