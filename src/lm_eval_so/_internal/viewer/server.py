"""The viewer's HTTP server: the standard library's ``ThreadingHTTPServer`` on 127.0.0.1 only.

Why this stack: the viewer serves a handful of GET routes to one local browser; every page is
rendered by :mod:`.site` (Jinja2, already a dependency) from the workspace's files. The standard
library's threaded server is enough for that, adds no dependency and no event loop, and keeps
the whole surface small enough to read: GET and HEAD only, a route table over ids the catalogue
knows (a path from the address bar is never joined to a directory), a ``Host`` check against DNS
rebinding, and the page's Content-Security-Policy sent as a header too.

Routes (the same relative layout the export writes):

    /  /index.html                    the runs, pipelines and experiments
    /runs/<run_id>.html               a run's page
    /compare/<run_a>/<run_b>.html     A (baseline) vs B (candidate)
    /compare?run=A&run=B              the index's form without script: redirects to the above
    /trends/<pipeline>.html           each metric over the pipeline's runs
    /experiments/<id>.html            a matrix experiment's grid
    /api/stamp                        {"stamp": …}: changes when a run appears or changes status
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from ..common.catalog import RunInfo
from .site import Page, Site

log = logging.getLogger("lm_eval_so._internal.viewer")
HOST = "127.0.0.1"


class ViewerServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, site: Site, port: int = 0) -> None:
        self.site = site
        super().__init__((HOST, port), Handler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    def start_background(self) -> threading.Thread:
        """Serve on a daemon thread (tests, notebooks); stop with :meth:`shutdown`."""
        thread = threading.Thread(target=self.serve_forever, name="lm-eval-so-viewer", daemon=True)
        thread.start()
        return thread


class Handler(BaseHTTPRequestHandler):
    server: ViewerServer
    server_version = "lm-eval-so-viewer"
    sys_version = ""

    def do_GET(self) -> None:
        self._respond(head=False)

    def do_HEAD(self) -> None:
        self._respond(head=True)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)

    # ------------------------------------------------------------------ dispatch

    def _respond(self, *, head: bool) -> None:
        if not self._host_allowed():
            self._send(HTTPStatus.BAD_REQUEST, b"unexpected Host header\n", "text/plain; charset=utf-8", head)
            return
        parts = urlsplit(self.path)
        segments = [unquote(s) for s in parts.path.split("/") if s]
        site = self.server.site
        try:
            if parts.path == "/api/stamp":
                payload = json.dumps({"stamp": site.stamp()}).encode()
                self._send(HTTPStatus.OK, payload, "application/json", head)
                return
            if segments == ["compare"]:
                self._compare_form(parse_qs(parts.query).get("run", []), head)
                return
            page = self._route(site, segments)
        except Exception:  # a bug: say so in the page, keep serving
            log.exception("viewer: error rendering %s", parts.path)
            page = site.not_found("The viewer failed to render this page (see its log).")
            page.status = 500
        self._send(page.status, page.html.encode("utf-8"), "text/html; charset=utf-8", head, page.policy)

    def _route(self, site: Site, segments: list[str]) -> Page:
        routes: dict[tuple[str, int], Callable[[list[str]], Page]] = {
            ("", 0): lambda s: site.index(),
            ("index.html", 1): lambda s: site.index(),
            ("runs", 2): lambda s: site.run(_html_name(s[1])),
            ("compare", 3): lambda s: site.compare(s[1], _html_name(s[2])),
            ("trends", 2): lambda s: site.trend(_html_name(s[1])),
            ("experiments", 2): lambda s: site.experiment(_html_name(s[1])),
        }
        key = (segments[0] if segments else "", len(segments))
        handler = routes.get(key)
        if handler is None or (len(segments) > 1 and not segments[-1].endswith(".html")):
            depth = "../" * max(0, len(segments) - 1)
            return site.not_found(f"nothing at /{'/'.join(segments)}", depth)
        return handler(segments)

    def _compare_form(self, runs: list[str], head: bool) -> None:
        """The index's form without script: ``?run=A&run=B`` -> the pair's page, older first."""
        site = self.server.site
        found = [site.catalog.get(r) for r in runs]
        chosen: list[RunInfo] = [f for f in found if f is not None]
        if len(runs) != 2 or len(chosen) != 2:
            page = site.not_found("Pick exactly two runs of this workspace to compare.")
            page.status = 400
            self._send(page.status, page.html.encode("utf-8"), "text/html; charset=utf-8", head, page.policy)
            return
        a, b = sorted(chosen, key=lambda r: r.order)
        self.send_response(HTTPStatus.SEE_OTHER)
        self.send_header("Location", f"/compare/{quote(a.run_id, safe='')}/{quote(b.run_id, safe='')}.html")
        self.send_header("Content-Length", "0")
        self.end_headers()

    # ------------------------------------------------------------------ helpers

    def _host_allowed(self) -> bool:
        host = (self.headers.get("Host") or "").lower()
        port = self.server.port
        return host in (f"{HOST}:{port}", f"localhost:{port}", HOST, "localhost")

    def _send(self, status: int, payload: bytes, kind: str, head: bool, policy: str = "") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        if policy:
            self.send_header("Content-Security-Policy", policy + "; frame-ancestors 'none'")
        self.end_headers()
        if not head:
            self.wfile.write(payload)


def _html_name(segment: str) -> str:
    return segment[: -len(".html")] if segment.endswith(".html") else segment


def serve(root: str | Path, port: int = 0) -> ViewerServer:
    """A server over the workspace at ``root`` (not yet serving: call ``serve_forever``)."""
    return ViewerServer(Site.of(root, live=True), port)
