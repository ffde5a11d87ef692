"""Shared helpers of the operations tests."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def repo_pythonpath() -> str:
    """PYTHONPATH for a child Python that imports this repository: the repo first, and whatever
    the caller had after it (the shifted-clock run puts its libfaketime shim there)."""
    return os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)


def alerts_of(rt: Any, finding_prefix: str) -> list[tuple[str, str]]:
    """(severity, subject) of every alert the verifier/reaper sent about findings ``finding_prefix*``."""
    return [(a["severity"], a["subject"]) for a in rt.alerts.read()
            if str((a.get("details") or {}).get("finding", "")).startswith(finding_prefix)]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (ProcessLookupError, FileNotFoundError):
        return False


def crawl_doc(crawl_id: str, when: str, new: dict[str, int]) -> dict[str, Any]:
    """A crawl report as the crawler saves it (chalicelib.crawl.report.CrawlReport.to_dict)."""
    from chalicelib.crawl.report import CrawlReport

    report = CrawlReport(crawl_id=crawl_id, started=when, budget_s=600, finished=when,
                         articles=sum(new.values()))
    for name, n in new.items():
        report.source(name).new = n
    return report.to_dict()
