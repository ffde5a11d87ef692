"""A real installed distribution, written the way pip writes one, in a directory of the test's.

The lineage tests need a ``package:`` model whose installed version they can change: the
image's model packages are hundreds of MB and shared by every test. This one is a package
directory with a ``model/`` file and a ``.dist-info`` with METADATA, INSTALLER, REQUESTED and
a RECORD holding each file's urlsafe-base64 sha256, as an installer records them.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import shutil
import sys
from pathlib import Path

PROBE = "lockprobe_model"
PROBE_DIST = "lockprobe-model"


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def install(site: Path, version: str, weights: bytes, *, package: str = PROBE,
            dist: str = PROBE_DIST, installer: str = "pip") -> Path:
    """(Re)install ``dist==version`` of import package ``package`` into ``site``, replacing any
    version there. Returns the package directory."""
    site.mkdir(parents=True, exist_ok=True)
    for old in site.glob(f"{dist.replace('-', '_')}-*.dist-info"):
        shutil.rmtree(old)
    pkg = site / package
    shutil.rmtree(pkg, ignore_errors=True)
    files = {
        f"{package}/__init__.py": f'"""A probe model package, version {version}."""\n'.encode(),
        f"{package}/model/weights.bin": weights,
    }
    info = f"{dist.replace('-', '_')}-{version}.dist-info"
    files[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n".encode()
    files[f"{info}/INSTALLER"] = f"{installer}\n".encode()
    files[f"{info}/REQUESTED"] = b""
    files[f"{info}/top_level.txt"] = f"{package}\n".encode()
    lines = []
    for rel, data in files.items():
        path = site / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        lines.append(f"{rel},{_record_hash(data)},{len(data)}")
    # What pip adds beside the wheel's files: bytecode without a hash, RECORD itself.
    pyc = f"{package}/__pycache__/__init__.cpython-311.pyc"
    (site / pyc).parent.mkdir(parents=True, exist_ok=True)
    (site / pyc).write_bytes(b"bytecode of this interpreter")
    lines += [f"{pyc},,", f"{info}/RECORD,,"]
    (site / info / "RECORD").write_text("\n".join(lines) + "\n")
    importlib.invalidate_caches()
    return pkg


def on_path(site: Path) -> None:
    if str(site) not in sys.path:
        sys.path.insert(0, str(site))
    importlib.invalidate_caches()
