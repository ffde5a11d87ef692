"""``newsops serve``: Chalice's local server for the local data, on loopback only."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from newsops.serve import make_server
from tests.ops.support import repo_pythonpath


def test_only_loopback_addresses(ops_app):
    for host in ("0.0.0.0", "192.168.1.10", "example.org"):
        with pytest.raises(ValueError, match="loopback"):
            make_server(host, 0, ops_app)


def test_the_served_app_answers_over_http(served, make_runtime):
    make_runtime()
    with httpx.Client(base_url=served, timeout=10) as client:
        assert client.get("/health").json()["status"] == "ok"
        assert client.get("/").headers["content-type"].startswith("text/html")
        assert client.post("/runs").status_code == 405
        assert client.request("TRACE", "/").status_code == 405


def _raw_get(base: str, path: str, host: str | None) -> tuple[int, bytes]:
    """A GET with exactly this Host header (or none): what a browser on a rebound name sends."""
    addr, port = base.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((addr, int(port)), timeout=10) as s:
        head = f"GET {path} HTTP/1.1\r\n" + (f"Host: {host}\r\n" if host is not None else "")
        s.sendall((head + "Connection: close\r\n\r\n").encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, data.split(b"\r\n\r\n", 1)[1]


def test_a_foreign_host_header_is_refused(served, make_runtime):
    """DNS rebinding: a page from another name that now resolves to 127.0.0.1 reaches this
    server with its own name in Host; it gets 403, never run or search data."""
    make_runtime()
    port = served.rsplit(":", 1)[1]
    for host in ("evil.example", f"evil.example:{port}", f"127.0.0.1.evil.example:{port}",
                 "127.0.0.1", f"localhost:{int(port) + 1}", ""):
        for path in ("/runs", "/search?q=profit", "/status", "/"):
            status, body = _raw_get(served, path, host)
            assert status == 403, (host, path, status)
            assert b"Forbidden" in body and b"runs" not in body.split(b"use http")[0], body
    status, _ = _raw_get(served, "/runs", None)
    assert status == 403
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}"):
        status, body = _raw_get(served, "/runs", host)
        assert status == 200, (host, body)
    with httpx.Client(base_url=served, timeout=10) as client:  # httpx sends the right Host
        assert client.get("/status").status_code == 200
        assert client.get("/status", headers={"Host": "evil.example"}).status_code == 403


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_runs_the_projects_app(tmp_path):
    import app

    assert "/status" in app.app.routes, "app.py must register the status blueprint"
    port = _free_port()
    env = {**os.environ, "NEWSOPS_HOME": str(tmp_path / "home"), "PYTHONPATH": repo_pythonpath()}
    proc = subprocess.Popen([sys.executable, "-c", f"from newsops.serve import serve; serve('127.0.0.1', {port})"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/status", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.1)
        assert r.status_code == 200 and r.json()["backend"] == "local"
    finally:
        proc.terminate()
        proc.wait(10)
