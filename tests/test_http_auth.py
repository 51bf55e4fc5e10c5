"""HTTP auth end to end: a head started with `comet start --head` under its
own temp dir, attacked and used over real sockets.

Shown here: requests without the cluster token get 401 (API) or a redirect to
/login (page loads) and never start a job; a web page's request (text/plain,
a foreign Origin, Sec-Fetch-Site: cross-site) is refused with 403 even with
the token; mutating API calls need JSON (415); the login page trades the
token for an HttpOnly, SameSite=Strict cookie that is not the token; the
raylet's and the dashboard's /metrics need the bearer token unless
--metrics-auth=none opens /metrics alone; the job SDK and `comet job` find
the token themselves and a wrong one raises AuthenticationError.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import urllib.parse
from email.message import Message
from pathlib import Path
from typing import Any, Iterator

import pytest

from cli_cluster import assert_one_line_error
from comet._private import auth
from comet.exceptions import AuthenticationError
from comet.job_submission import JobSubmissionClient
from dashboard_cluster import DashboardCluster, bearer, wait_for

pytestmark = pytest.mark.timeout(240)

WRONG_TOKEN = "wrong-token-0123456789"
EVIL = "http://evil.example"
JSON = {"Content-Type": "application/json"}


def send(url: str, method: str, path: str, body: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, Message, bytes]:
    """One request with exactly these headers (no token unless given), no
    redirects followed: (status, headers, body)."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def submit_body(marker: Path) -> bytes:
    return json.dumps({"entrypoint": f"touch {marker}"}).encode()


def jobs_touching(cluster: DashboardCluster, marker: Path) -> list[dict[str, Any]]:
    """Jobs the server knows whose entrypoint touches marker (with the token)."""
    return [j for j in cluster.get("/api/jobs/") if str(marker) in (j.get("entrypoint") or "")]


def assert_never_ran(cluster: DashboardCluster, marker: Path) -> None:
    assert not jobs_touching(cluster, marker), jobs_touching(cluster, marker)
    assert not marker.exists()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: Any) -> Iterator[DashboardCluster]:
    head = DashboardCluster(tmp_path_factory.mktemp("http_auth"))
    head.start()
    try:
        yield head
    finally:
        head.stop()


def test_start_says_how_to_log_in(cluster: DashboardCluster) -> None:
    creds = auth.load()
    assert "log in with the cluster token" in cluster.start_output, cluster.start_output
    if creds["source"] != "COMET_AUTH_TOKEN":
        path = creds["source"].split("=", 1)[-1]
        assert f"cat {path}" in cluster.start_output, cluster.start_output
    assert creds["token"] not in cluster.start_output


def test_no_token_gets_401_and_the_job_never_runs(cluster: DashboardCluster,
                                                    tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    status, headers, body = send(cluster.url, "POST", "/api/jobs/", submit_body(marker), JSON)
    assert status == 401, body
    assert "Bearer" in json.loads(body)["error"]
    assert headers["WWW-Authenticate"].startswith("Bearer")
    for path in ("/api/jobs/", "/api/nodes", "/api/logs", "/api/version", "/metrics",
                 "/api/metrics/history", "/", "/assets/index.js", "/api/no/such"):
        status, _, body = send(cluster.url, "GET", path)
        assert status == 401, (path, body)
    bad = {"Authorization": f"Bearer {WRONG_TOKEN}", **JSON}
    status, _, _ = send(cluster.url, "POST", "/api/jobs/", submit_body(marker), bad)
    assert status == 401
    status, _, _ = send(cluster.url, "GET", "/api/nodes", headers={"Cookie": "comet_session=x"})
    assert status == 401
    assert_never_ran(cluster, marker)


def test_page_loads_without_a_session_go_to_login(cluster: DashboardCluster) -> None:
    html = {"Accept": "text/html,application/xhtml+xml"}
    status, headers, _ = send(cluster.url, "GET", "/", headers=html)
    assert (status, headers["Location"]) == (303, "/login")
    status, headers, _ = send(cluster.url, "GET", "/nodes?x=1", headers=html)
    assert status == 303
    assert headers["Location"] == "/login?" + urllib.parse.urlencode({"next": "/nodes?x=1"})
    status, _, _ = send(cluster.url, "GET", "/api/nodes", headers=html)  # never a redirect
    assert status == 401


def test_web_page_attack_is_refused(cluster: DashboardCluster, tmp_path: Path) -> None:
    """The POST a page on another site can send without a preflight."""
    marker = tmp_path / "pwned-by-page"
    page = {"Content-Type": "text/plain", "Origin": EVIL}
    status, _, body = send(cluster.url, "POST", "/api/jobs/", submit_body(marker), page)
    assert status == 403, body
    assert "cross-site" in json.loads(body)["error"]
    fetch = {"Content-Type": "text/plain", "Sec-Fetch-Site": "cross-site"}
    assert send(cluster.url, "POST", "/api/jobs/", submit_body(marker), fetch)[0] == 403
    assert_never_ran(cluster, marker)


@pytest.mark.parametrize("extra", [
    {"Origin": EVIL},
    {"Origin": "null"},
    {"Origin": "http://127.0.0.1:1"},  # same host, another port: another origin
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
], ids=["foreign-origin", "null-origin", "other-port", "cross-site", "same-site"])
def test_cross_site_is_refused_even_with_the_token(cluster: DashboardCluster, tmp_path: Path,
                                                   extra: dict[str, str]) -> None:
    marker = tmp_path / "pwned-with-token"
    headers = {**bearer(), **JSON, **extra}
    status, _, body = send(cluster.url, "POST", "/api/jobs/", submit_body(marker), headers)
    assert status == 403, body
    assert_never_ran(cluster, marker)


def test_mutations_need_json(cluster: DashboardCluster, tmp_path: Path) -> None:
    marker = tmp_path / "not-json"
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {**bearer(), **({"Content-Type": content_type} if content_type else {})}
        status, _, body = send(cluster.url, "POST", "/api/jobs/", submit_body(marker), headers)
        assert status == 415, (content_type, body)
        assert "application/json" in json.loads(body)["error"]
    assert_never_ran(cluster, marker)


def test_token_and_json_run_the_job(cluster: DashboardCluster, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    same_origin = {"Origin": cluster.url, "Sec-Fetch-Site": "same-origin"}
    status, _, body = send(cluster.url, "POST", "/api/jobs/", submit_body(marker),
                           {**bearer(), **JSON, **same_origin})
    assert status == 200, body
    sid = json.loads(body)["submission_id"]
    assert cluster.wait_job(sid)["status"] == "SUCCEEDED"
    assert marker.exists()
    # Stop and delete are mutations too: refused cross-site, done same-site.
    for method, path in (("POST", f"/api/jobs/{sid}/stop"), ("DELETE", f"/api/jobs/{sid}")):
        status, _, _ = send(cluster.url, method, path, b"{}", {**bearer(), **JSON, "Origin": EVIL})
        assert status == 403, (method, path)
    assert cluster.job(sid)["status"] == "SUCCEEDED"
    assert cluster.http("DELETE", f"/api/jobs/{sid}") == (200, {"deleted": True})


def _form(**fields: str) -> tuple[bytes, dict[str, str]]:
    return (urllib.parse.urlencode(fields).encode(),
            {"Content-Type": "application/x-www-form-urlencoded"})


def _session_cookie(headers: Message) -> tuple[str, list[str]]:
    """(value, lowercase attributes) of the comet_session Set-Cookie."""
    cookies = [c for c in headers.get_all("Set-Cookie") or [] if c.startswith("comet_session=")]
    assert len(cookies) == 1, headers.get_all("Set-Cookie")
    first, *attributes = [part.strip() for part in cookies[0].split(";")]
    return first.split("=", 1)[1], [a.lower() for a in attributes]


def test_login_sets_a_strict_httponly_cookie(cluster: DashboardCluster,
                                             tmp_path: Path) -> None:
    status, headers, body = send(cluster.url, "GET", "/login")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b'name="token"' in body and b'type="password"' in body
    assert headers["X-Frame-Options"] == "DENY"

    status, headers, body = send(cluster.url, "POST", "/login", *_form(token=WRONG_TOKEN))
    assert status == 401 and b'name="token"' in body
    assert not headers.get_all("Set-Cookie")

    token = auth.load()["token"]
    status, headers, _ = send(cluster.url, "POST", "/login", *_form(token=token, next="/jobs"))
    assert (status, headers["Location"]) == (303, "/jobs")
    value, attributes = _session_cookie(headers)
    assert value and value != token and token not in value
    assert {"httponly", "samesite=strict", "path=/"} <= set(attributes), attributes
    assert "secure" not in attributes  # plain HTTP here

    cookie = {"Cookie": f"comet_session={value}"}
    status, _, body = send(cluster.url, "GET", "/api/nodes", headers=cookie)
    assert status == 200 and json.loads(body)["nodes"]
    marker = tmp_path / "by-cookie"
    status, _, body = send(cluster.url, "POST", "/api/jobs/", submit_body(marker),
                           {**cookie, **JSON, "Origin": cluster.url})
    assert status == 200, body
    assert cluster.wait_job(json.loads(body)["submission_id"])["status"] == "SUCCEEDED"
    # The cookie alone does not make a cross-site request pass.
    evil_marker = tmp_path / "cookie-cross-site"
    status, _, _ = send(cluster.url, "POST", "/api/jobs/", submit_body(evil_marker),
                        {**cookie, **JSON, "Origin": EVIL})
    assert status == 403
    assert_never_ran(cluster, evil_marker)

    status, headers, _ = send(cluster.url, "GET", "/logout", headers=cookie)
    assert (status, headers["Location"]) == (303, "/login")
    assert _session_cookie(headers)[0] in ("", '""')


def test_login_refuses_cross_site_and_foreign_redirects(cluster: DashboardCluster) -> None:
    token = auth.load()["token"]
    body, headers = _form(token=token)
    status, response, _ = send(cluster.url, "POST", "/login", body, {**headers, "Origin": EVIL})
    assert status == 403 and not response.get_all("Set-Cookie")
    for target in ("//evil.example/", "http://evil.example/", "/\\evil.example"):
        status, response, _ = send(cluster.url, "POST", "/login", *_form(token=token,
                                                                         next=target))
        assert (status, response["Location"]) == (303, "/"), target


def test_metrics_need_the_bearer_token(cluster: DashboardCluster) -> None:
    info = json.loads((Path(cluster.session_dir) / "session.json").read_text())
    raylet_metrics = info["metrics_url"]
    parts = urllib.parse.urlsplit(raylet_metrics)
    base = f"http://{parts.netloc}"
    assert send(base, "GET", parts.path)[0] == 401
    assert send(base, "GET", parts.path, headers={"Authorization": f"Bearer {WRONG_TOKEN}"}
                )[0] == 401
    status, _, body = send(base, "GET", parts.path, headers=bearer())
    assert status == 200 and b"comet_" in body
    status, _, body = send(cluster.url, "GET", "/metrics", headers=bearer())
    assert status == 200 and b"comet_nodes" in body


def test_sdk_and_cli_find_the_token(cluster: DashboardCluster, tmp_path: Path) -> None:
    client = JobSubmissionClient(cluster.url)
    sid = client.submit_job(entrypoint="echo sdk-found-the-token")
    assert cluster.wait_job(sid)["status"] == "SUCCEEDED"
    assert "sdk-found-the-token" in client.get_job_logs(sid)
    result = cluster.cli("job", "submit", "--", "echo", "cli-found-the-token")
    assert result.returncode == 0, result.stderr
    assert "cli-found-the-token" in result.stdout
    with pytest.raises(AuthenticationError, match="headers="):
        JobSubmissionClient(cluster.url,
                            headers={"Authorization": f"Bearer {WRONG_TOKEN}"}).list_jobs()


def test_wrong_token_raises_authentication_error(cluster: DashboardCluster) -> None:
    code = ("import sys\n"
            "from comet.exceptions import AuthenticationError\n"
            "from comet.job_submission import JobSubmissionClient\n"
            "try:\n"
            f"    JobSubmissionClient({cluster.url!r}).submit_job(entrypoint='true')\n"
            "except AuthenticationError as e:\n"
            "    print(e)\n"
            "    sys.exit(3)\n")
    env = {**cluster.env, "COMET_AUTH_TOKEN": WRONG_TOKEN}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, timeout=60)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "refused" in result.stdout and "COMET_AUTH_TOKEN" in result.stdout
    assert WRONG_TOKEN not in result.stdout  # named by its source, never printed
    cli = subprocess.run([*_cli(), "job", "list", "--address", cluster.url],
                         capture_output=True, text=True, env=env, timeout=60)
    assert_one_line_error(cli, "refused", "COMET_AUTH_TOKEN")


def _cli() -> list[str]:
    return [sys.executable, "-m", "comet.scripts.cli"]


def test_metrics_auth_none_opens_metrics_alone(tmp_path: Path) -> None:
    head = DashboardCluster(tmp_path, extra_env={"COMET_METRICS_AUTH": "none"})
    head.start()
    try:
        status, _, body = send(head.url, "GET", "/metrics")
        assert status == 200 and b"comet_nodes" in body
        raylet = urllib.parse.urlsplit(json.loads(
            (Path(head.session_dir) / "session.json").read_text())["metrics_url"])
        assert send(f"http://{raylet.netloc}", "GET", raylet.path)[0] == 200
        for method, path in (("GET", "/api/nodes"), ("GET", "/api/metrics/history"),
                             ("POST", "/metrics"), ("GET", "/metrics/x")):
            assert send(head.url, method, path)[0] == 401, (method, path)
    finally:
        head.stop()


def test_auth_disabled_still_refuses_cross_site(tmp_path: Path) -> None:
    head = DashboardCluster(tmp_path, extra_env={"COMET_AUTH_MODE": "disabled"})
    head.start()
    try:
        assert "auth is disabled" in head.start_output
        status, _, body = send(head.url, "GET", "/api/nodes")
        assert status == 200 and json.loads(body)["nodes"]
        marker = tmp_path / "pwned-disabled"
        page = {"Content-Type": "text/plain", "Origin": EVIL}
        assert send(head.url, "POST", "/api/jobs/", submit_body(marker), page)[0] == 403
        assert send(head.url, "POST", "/api/jobs/", submit_body(marker),
                    {**JSON, "Sec-Fetch-Site": "cross-site"})[0] == 403
        # A DNS-rebinding page: its Origin matches the Host it sent, not loopback.
        port = urllib.parse.urlsplit(head.url).port
        rebind = {**JSON, "Host": f"evil.example:{port}", "Origin": f"{EVIL}:{port}"}
        assert send(head.url, "POST", "/api/jobs/", submit_body(marker), rebind)[0] == 403
        assert send(head.url, "GET", "/api/nodes", headers={"Host": "evil.example"})[0] == 403
        assert send(head.url, "POST", "/api/jobs/", submit_body(marker),
                    {"Content-Type": "text/plain"})[0] == 415
        status, _, body = send(head.url, "GET", "/api/jobs/")
        assert status == 200 and not [j for j in json.loads(body)
                                      if str(marker) in (j.get("entrypoint") or "")]
        assert not marker.exists()
    finally:
        head.stop()


def test_dashboard_refuses_unknown_metrics_auth(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "comet.dashboard", "--gcs-address", "127.0.0.1:1",
         "--session-dir", str(tmp_path), "--metrics-auth", "open"],
        capture_output=True, text=True, timeout=60, env=dict(os.environ))
    assert result.returncode == 1
    assert "--metrics-auth" in result.stderr and "'open'" in result.stderr
