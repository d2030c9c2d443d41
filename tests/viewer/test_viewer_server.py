"""The viewer's server without a browser: loopback only, read-only, a policy on every page, no
path from the address bar ever reaching the disk, and the command line that starts it."""

from __future__ import annotations

import html
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from viewer_kit import Built

from lm_eval_so._internal.viewer.cli import main as view_main
from lm_eval_so._internal.viewer.export import MARKER
from lm_eval_so._internal.viewer.server import ViewerServer, serve


def get(
    server: ViewerServer, path: str, method: str = "GET", host: str | None = None
) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    headers = {"Host": host} if host is not None else {}
    connection.request(method, path, headers=headers)
    response = connection.getresponse()
    response.read()
    return response


def body(server: ViewerServer, path: str) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.request("GET", path)
    return connection.getresponse().read().decode("utf-8")


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")}


def pages(built: Built) -> list[str]:
    runs = [p.name for p in built.all_runs] + ([built.interrupted.name] if built.interrupted else [])
    qa = [p.name for p in built.runs["qa"]]
    experiment = built.experiment.name if built.experiment else "none"
    return [
        "/",
        "/index.html",
        *[f"/runs/{run}.html" for run in runs],
        f"/compare/{qa[0]}/{qa[1]}.html",
        "/trends/qa.html",
        f"/experiments/{experiment}.html",
        "/api/stamp",
    ]


def test_it_listens_on_loopback_only(server: ViewerServer) -> None:
    assert server.server_address[0] == "127.0.0.1" and server.url == f"http://127.0.0.1:{server.port}/"


def test_every_page_has_a_policy_that_allows_only_its_own_scripts(server: ViewerServer, built: Built) -> None:
    for path in pages(built)[:-1]:
        response = get(server, path)
        assert response.status == 200, path
        policy = response.getheader("Content-Security-Policy") or ""
        assert policy.startswith("default-src 'none'; ") and "frame-ancestors 'none'" in policy
        scripts = re.search(r"script-src ([^;]*)", policy)
        assert scripts is not None and "unsafe" not in scripts.group(1) and "sha256-" in scripts.group(1)
        assert response.getheader("X-Content-Type-Options") == "nosniff"
        text = body(server, path)
        assert "https://" not in text and "http://" not in text.replace(server.url, "")  # no network
        meta = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', text)
        assert meta is not None and policy == html.unescape(meta.group(1)) + "; frame-ancestors 'none'"


def test_browsing_writes_nothing_to_the_workspace(server: ViewerServer, built: Built) -> None:
    before = snapshot(built.workspace)
    for path in pages(built):
        assert get(server, path).status == 200, path
    assert snapshot(built.workspace) == before


@pytest.mark.parametrize(
    "path",
    [
        "/runs/..%2F..%2Fqa.yaml",
        "/runs/../../qa.yaml",
        "/runs/%2e%2e/manifest.html",
        "/runs/nope.html",
        "/compare/a/b.html",
        "/trends/%2Fetc%2Fpasswd.html",
        "/experiments/..%2Fruns.html",
        "/static/viewer.js",
        "/runs/x/report.html",
    ],
)
def test_nothing_outside_the_routes_is_served(server: ViewerServer, path: str) -> None:
    response = get(server, path)
    assert response.status == 404


def test_other_hosts_and_methods_are_refused(server: ViewerServer) -> None:
    assert get(server, "/", host="evil.example:80").status == 400  # DNS rebinding
    assert get(server, "/", host=f"localhost:{server.port}").status == 200
    assert get(server, "/", method="POST").status == 501
    assert get(server, "/", method="DELETE").status == 501
    assert get(server, "/", method="HEAD").status == 200


def test_the_compare_form_redirects_older_first(server: ViewerServer, built: Built) -> None:
    qa = [p.name for p in built.runs["qa"]]
    response = get(server, f"/compare?run={qa[4]}&run={qa[1]}")
    assert response.status == 303
    assert response.getheader("Location") == f"/compare/{qa[1]}/{qa[4]}.html"
    assert get(server, f"/compare?run={qa[4]}").status == 400


def test_the_stamp_changes_when_a_run_appears(built: Built, tmp_path: Path) -> None:
    copy = tmp_path / "ws"
    shutil.copytree(built.workspace, copy)
    live = serve(copy)
    live.start_background()
    try:
        first = json.loads(body(live, "/api/stamp"))["stamp"]
        assert json.loads(body(live, "/api/stamp"))["stamp"] == first
        shutil.copytree(built.runs["qa"][0], copy / "runs" / "20990101T000000Z-qa-00000000")
        assert json.loads(body(live, "/api/stamp"))["stamp"] != first
        assert "20990101T000000Z-qa-00000000" in body(live, "/")
    finally:
        live.shutdown()
        live.server_close()


def test_view_prints_its_address_and_serves(built: Built) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "LM_EVAL_SO_"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "lm_eval_so", "view", str(built.workspace), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        match = re.fullmatch(r"http://127\.0\.0\.1:(\d+)/", url)
        assert match, url
        connection = http.client.HTTPConnection("127.0.0.1", int(match.group(1)), timeout=30)
        connection.request("GET", "/")
        response = connection.getresponse()
        assert response.status == 200 and b"<h1>Runs" in response.read()
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_export_refuses_the_workspace_and_foreign_folders(
    built: Built, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert view_main([str(built.workspace), "--export", str(built.workspace / "site")]) == 2
    assert "never into it" in capsys.readouterr().err
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep")
    assert view_main([str(built.workspace), "--export", str(foreign)]) == 2
    assert "not empty and not an earlier export" in capsys.readouterr().err
    site = tmp_path / "site"
    assert view_main([str(built.workspace), "--export", str(site)]) == 0
    assert capsys.readouterr().out.strip() == (site / "index.html").as_uri()
    assert (site / MARKER).is_file() and (site / "trends" / "qa.html").is_file()
    assert view_main([str(built.workspace), "--export", str(site)]) == 0  # an earlier export: rewritten
    assert view_main([str(tmp_path / "nope")]) == 2
