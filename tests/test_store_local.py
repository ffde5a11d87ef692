import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chalicelib.store.local import LocalObjectStore


def test_put_get_head_list_delete(tmp_path):
    store = LocalObjectStore(tmp_path)
    info = store.put("runs/r/a.json", b"hello", metadata={"records": "3"})
    assert info.etag == hashlib.md5(b"hello").hexdigest()  # S3's single-part etag
    assert store.get("runs/r/a.json") == b"hello"
    head = store.head("runs/r/a.json")
    assert head.size == 5 and head.metadata == {"records": "3"}
    store.put("runs/r/b.json", b"x")
    store.put("runs/q/c.json", b"y")
    assert list(store.list("runs/r/")) == ["runs/r/a.json", "runs/r/b.json"]
    assert list(store.list("runs/")) == ["runs/q/c.json", "runs/r/a.json", "runs/r/b.json"]
    store.delete("runs/r/a.json")
    assert store.head("runs/r/a.json") is None
    with pytest.raises(KeyError):
        store.get("runs/r/a.json")


def test_keys_cannot_escape_the_root(tmp_path):
    store = LocalObjectStore(tmp_path / "store")
    for bad in ("../x", "/etc/passwd", "a/../../x", ".tmp/x", ""):
        with pytest.raises(ValueError):
            store.put(bad, b"x")


def test_failed_streaming_write_publishes_nothing(tmp_path):
    store = LocalObjectStore(tmp_path)
    with pytest.raises(RuntimeError), store.open_write("runs/r/big.bin") as f:
        f.write(b"partial")
        raise RuntimeError("writer crashed")
    assert store.head("runs/r/big.bin") is None
    assert list(store.list("")) == []


def test_put_under_incoming_notifies_subscribers(tmp_path):
    store = LocalObjectStore(tmp_path)
    seen = []
    store.subscribe("incoming/", seen.append)
    store.put("runs/r/x", b"1")
    store.put("incoming/2026-11-27/b.jsonl.gz", b"2")
    assert [i.key for i in seen] == ["incoming/2026-11-27/b.jsonl.gz"]


WRITER = """
import sys, time
from pathlib import Path
from chalicelib.store.local import LocalObjectStore
store = LocalObjectStore(Path(sys.argv[1]))
with store.open_write("runs/r/results/t/00000.jsonl.gz") as f:
    f.write(b"x" * 1_000_000)
    f.flush()
    print("writing", flush=True)
    time.sleep(60)
    f.write(b"y")
"""


def test_writer_killed_mid_write_leaves_no_partial_object(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE,
                            cwd=Path(__file__).resolve().parents[1])
    assert proc.stdout.readline().strip() == b"writing"
    # the bytes are on disk somewhere (scratch), but not at the final key
    assert any(p.stat().st_size >= 1_000_000 for p in (tmp_path / ".tmp").iterdir())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    store = LocalObjectStore(tmp_path)
    assert store.head("runs/r/results/t/00000.jsonl.gz") is None
    assert list(store.list("runs/")) == []


def test_parallel_writers_of_the_same_key_never_mix(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    store = LocalObjectStore(tmp_path)
    payloads = [bytes([i]) * 200_000 for i in range(8)]

    def write(p: bytes) -> None:
        with store.open_write("runs/r/same") as f:
            for k in range(0, len(p), 10_000):
                f.write(p[k:k + 10_000])
                time.sleep(0)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(write, payloads))
    assert store.get("runs/r/same") in payloads
