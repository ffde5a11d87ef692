"""A batch 'container' for tests: the real entrypoint with a tiny runner instead of a model.

Behaviour is chosen by NEWSOPS_FAKE_MODE (inherited from the test process):
ok (default), flaky (exit 75 on attempt 1), fail (always exit 65), hang (starts a child
and sleeps forever), poison (articles whose title contains POISON raise).
NEWSOPS_FAKE_KILL=1 makes a worker SIGKILL itself mid-chunk when the chunk holds an article whose
title contains KILL; NEWSOPS_FAKE_COUNT_FILE gets one line per chunk the runner processes;
NEWSOPS_FAKE_SLEEP makes each chunk take that many seconds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from newsops_batch import entrypoint


class LengthRunner:
    def run(self, articles):
        count = os.environ.get("NEWSOPS_FAKE_COUNT_FILE")
        if count:
            with open(count, "a") as f:
                f.write(f"{os.environ.get('NEWSOPS_TASK')} {articles[0].id}\n")
        if os.environ.get("NEWSOPS_FAKE_KILL") and any("KILL" in a.title for a in articles):
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(float(os.environ.get("NEWSOPS_FAKE_SLEEP", "0")))
        out = []
        for a in articles:
            if "POISON" in a.title:
                out.append(ValueError("poisoned article"))
            else:
                out.append({"label": "long" if len(a.body) > 1000 else "short", "score": 1.0,
                            "model_version": "t1"})
        return out


def main() -> int:
    mode = os.environ.get("NEWSOPS_FAKE_MODE", "ok")
    task = os.environ.get("NEWSOPS_TASK", "")
    if os.environ.get("NEWSOPS_FAKE_TASK") and os.environ["NEWSOPS_FAKE_TASK"] != task:
        mode = "ok"
    attempt = int(os.environ.get("AWS_BATCH_JOB_ATTEMPT", "1"))
    pidfile = os.environ.get("NEWSOPS_FAKE_PIDFILE")
    if mode == "flaky" and attempt == 1:
        return 75
    if mode == "fail":
        return 65
    if mode == "hang":
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        if pidfile:
            Path(pidfile).write_text(f"{os.getpid()} {child.pid}\n")
        time.sleep(600)
        return 0
    return entrypoint.main(runner=LengthRunner())


if __name__ == "__main__":
    sys.exit(main())
