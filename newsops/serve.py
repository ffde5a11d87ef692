"""``newsops serve --port N``: the Chalice app's routes (status API + dashboard) for the local data.

Chalice's own local server runs the same route table, the same middleware and the same
blueprint as API Gateway + Lambda would, against the local backend under ``NEWSOPS_HOME``.
It binds to loopback only: locally there is no IAM in front of it.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import sys
import threading
from pathlib import Path
from typing import Any

from chalice.config import Config
from chalice.local import ChaliceRequestHandler, CustomLocalChalice, LocalChalice, LocalDevServer

log = logging.getLogger("newsops.serve")


def _loopback(host: str) -> None:
    try:
        ok = ipaddress.ip_address(host).is_loopback
    except ValueError:
        ok = host == "localhost"
    if not ok:
        raise ValueError(f"newsops serve binds to a loopback address only (127.0.0.1), not {host!r}: "
                         "the local server has no authorization in front of it")


def _default_app() -> Any:
    repo_root = Path(__file__).resolve().parents[1]
    if str(repo_root) not in sys.path:
        sys.path.insert(0, str(repo_root))  # app.py lives at the repository root
    import app as app_module

    return app_module.app


def allowed_hosts(host: str, port: int) -> frozenset[str]:
    """The Host header values a browser sends for this server: its address or a loopback name,
    with the port (and without it too on port 80, where browsers leave it out)."""
    name = host.lower()
    names = {"localhost", "127.0.0.1", f"[{name}]" if ":" in name else name}
    with_port = {f"{n}:{port}" for n in names}
    return frozenset(with_port | names) if port == 80 else frozenset(with_port)


class _RequestHandler(ChaliceRequestHandler):
    # http.server answers methods it has no do_X for with 501 (a server error); through the
    # route table they get what API Gateway answers: 405 for a method the route lacks.
    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_") and name[3:].isalpha() and name[3:].isupper():
            return self._generic_handle
        raise AttributeError(name)

    def _generic_handle(self) -> None:
        # DNS rebinding: a page from evil.example whose name later resolves to 127.0.0.1 is
        # same-origin with this server in the browser, and could read runs and search results.
        # Its requests carry its own name in Host; only this server's own names get an answer.
        host = (self.headers.get("Host") or "").strip().lower()
        bound_host, bound_port = self.server.server_address[:2]
        if host not in allowed_hosts(str(bound_host), int(bound_port)):
            body = json.dumps({"message": f"Forbidden: Host {host or '(none)'!r} is not this server's "
                                          f"address; use http://127.0.0.1:{bound_port}/"}).encode()
            self.send_response(403)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            # The request's body is left unread: the connection cannot carry another request.
            self.send_header("Connection", "close")
            self.close_connection = True
            self.end_headers()
            self.wfile.write(body)
            return
        super()._generic_handle()

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle


def make_server(host: str, port: int, chalice_app: Any = None) -> LocalDevServer:
    """A Chalice local server for ``chalice_app`` (default: the project's app.py); port 0 picks one."""
    _loopback(host)
    chalice_app = chalice_app or _default_app()
    config = Config.create(chalice_stage="local", app_name=chalice_app.app_name, chalice_app=chalice_app)
    # What chalice.local.create_local_server does, with the handler above.
    if not isinstance(chalice_app, LocalChalice):
        CustomLocalChalice.__bases__ = (LocalChalice, chalice_app.__class__)
        chalice_app.__class__ = CustomLocalChalice
    return LocalDevServer(chalice_app, config, host, port, handler_cls=_RequestHandler)


def run_schedule(rt: Any, every_s: float, stop: threading.Event) -> threading.Thread:
    """The local stand-in for the two ``@app.schedule`` handlers: reaper, then verifier."""
    from chalicelib.ops.reaper import reap
    from chalicelib.ops.verifier import run_verifier

    def loop() -> None:
        while not stop.wait(every_s):
            try:
                reap(rt)
                run_verifier(rt)
            except Exception:  # noqa: BLE001 - keep serving; the next tick tries again
                log.exception("scheduled verifier/reaper pass failed")

    thread = threading.Thread(target=loop, name="newsops-schedule", daemon=True)
    thread.start()
    return thread


def serve(host: str = "127.0.0.1", port: int = 8000, *, schedule_s: float | None = None) -> int:
    """Serve until interrupted. ``schedule_s``: also run the reaper and verifier that often."""
    from chalicelib.factory import build_runtime
    from chalicelib.observability import configure_logging
    from chalicelib.runtime import set_runtime
    from chalicelib.settings import Settings

    settings = Settings()
    if settings.backend != "local":
        raise ValueError("newsops serve is for the local backend; on AWS the API is on API Gateway")
    _loopback(host)  # refused before anything is built
    _default_app()  # app.py on the path
    import app

    rt = build_runtime(settings, handlers=app.local_handlers())
    previous = set_runtime(rt)
    configure_logging(settings)
    stop = threading.Event()
    try:
        server = make_server(host, port)
        if schedule_s:
            run_schedule(rt, schedule_s, stop)
        bound = server.server.server_address
        print(f"newsops: status API and dashboard on http://{bound[0]}:{bound[1]}/ "
              f"(data: {settings.home.resolve()}); Ctrl-C stops", flush=True)
        server.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        rt.close()
        set_runtime(previous)
    return 0
