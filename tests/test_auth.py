"""The cluster token on gRPC, end to end, with real processes.

A plain gRPC client (bazel-bin/src/comet/tools/auth_probe) calls a method of
every service of the GCS, a raylet (node manager and object manager) and a
core worker: without the token and with a wrong one, every call is refused
(UNAUTHENTICATED) and none of the attacker's calls (a fake 64-CPU node, killing
a detached actor and a worker, writing the KV) takes effect; with the token,
the calls are served. A node and a driver with the wrong token are refused
with an error that says "token" and where the token came from; the token file
is private, and one readable by others is refused.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import comet
from cli_cluster import Cluster, cli
from conftest import wait_for_condition
from comet._private import auth, worker_context
from comet.util.state import list_nodes
from comet.util.state.api import state_client

ROOT = Path(__file__).resolve().parent.parent
PROBE = ROOT / "bazel-bin" / "src" / "comet" / "tools" / "auth_probe"
UNAUTHENTICATED = 16
RESOURCE_EXHAUSTED = 8
WRONG_TOKEN = "wrong-token-" + "0" * 52

pytestmark = pytest.mark.skipif(not PROBE.exists(),
                                reason=f"{PROBE} is not built (./build.sh test builds it)")


def probe(target: str, address: str, *args: str) -> dict[str, tuple[int, str]]:
    """{"Service/Method": (status code, message)} for every call auth_probe made."""
    out = subprocess.run([str(PROBE), f"--target={target}", f"--address={address}", *args],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    calls = {}
    for line in out.splitlines():
        name, code, *message = line.split(" ", 2)
        calls[name] = (int(code), message[0] if message else "")
    assert calls, out
    return calls


def python(code: str, env: dict[str, str | None]) -> subprocess.CompletedProcess:
    """Runs `python -c code` with os.environ updated by env (None values removed)."""
    full = {**os.environ, **env}
    for name in [k for k, v in env.items() if v is None]:
        full.pop(name, None)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env=full)


@comet.remote
class Target:
    def where(self) -> tuple[int, str]:
        cw = worker_context.get().core_worker
        return cw.port, comet.get_runtime_context().get_worker_id()

    def ping(self) -> str:
        return "pong"


def raylet_refused() -> int:
    """comet_grpc_unauthenticated_total on this node's raylet's /metrics."""
    node = comet.nodes()[0]
    url = f"http://{node['NodeManagerAddress']}:{node['MetricsExportPort']}/metrics"
    request = urllib.request.Request(url, headers=auth.bearer_headers())
    text = urllib.request.urlopen(request, timeout=10).read().decode()
    return int(float(next(line.split()[-1] for line in text.splitlines()
                          if line.startswith("comet_grpc_unauthenticated_total"))))


def test_every_grpc_service_refuses_calls_without_the_right_token(comet_start):
    # Health checks every 100 ms: a GCS whose checks lacked the token would
    # mark the node dead within 0.5 s, well before the end of this test.
    comet_start(num_cpus=2, _system_config={"health_check_period_ms": 100})
    ctx = worker_context.get()
    actor = Target.options(name="victim", lifetime="detached").remote()
    port, worker_id = comet.get(actor.where.remote())
    actor_id = actor._actor_id.hex()
    targets = {"gcs": ctx.gcs_address, "raylet": ctx.raylet_address,
               "worker": f"127.0.0.1:{port}"}
    ids = [f"--actor-id={actor_id}", f"--worker-id={worker_id}"]
    nodes_before = len(list_nodes())
    refused_before = {**state_client().auth_stats(), "raylet": raylet_refused()}

    num_refused = dict.fromkeys(targets, 0)
    for target, address in targets.items():
        for credentials in ([], [f"--token={WRONG_TOKEN}"]):
            calls = probe(target, address, "--mutating", *ids, *credentials)
            refused = {name for name, (code, _) in calls.items() if code == UNAUTHENTICATED}
            assert refused == set(calls), (target, credentials, calls)
            for code, message in calls.values():
                assert "token" in message, message
            num_refused[target] += len(refused)

    # Every refusal is counted: the GCS's and the raylet's at once, the
    # worker's once its next batch of task events reaches the GCS (1 s).
    def counted() -> dict[str, int]:
        stats = state_client().auth_stats()
        return {"gcs": stats["gcs_refused"] - refused_before["gcs_refused"],
                "worker": stats["core_workers_refused"] - refused_before["core_workers_refused"],
                "raylet": raylet_refused() - refused_before["raylet"]}
    assert wait_for_condition(lambda: counted() == num_refused, timeout=30), (counted(), num_refused)

    # Nothing the attacker asked for happened, and the node's own health
    # checks (which carry the token) kept it alive.
    time.sleep(1.0)  # 10 health-check periods; waits for something not to happen
    assert len(list_nodes()) == nodes_before
    assert all(n["state"] == "ALIVE" for n in list_nodes())
    assert comet.get(actor.ping.remote()) == "pong"
    assert state_client().kv_get("probe", b"pwned") is None

    token = auth.load()["token"]
    for target, address in targets.items():
        calls = probe(target, address, *ids, f"--token={token}")
        served = {name: code for name, (code, _) in calls.items() if code != UNAUTHENTICATED}
        assert served == {name: code for name, (code, _) in calls.items()}, (target, calls)
        # Reads are answered OK; a pull of an unknown object fails on its own
        # terms, and a 100 MiB request to the raylet is refused unread.
        assert all(code == 0 for name, code in served.items()
                   if "Pull" not in name and "100MiB" not in name), calls
        if target == "raylet":
            assert served["NodeManagerService/KillWorker(100MiB)"] == RESOURCE_EXHAUSTED, calls
    comet.kill(actor)


def test_token_file_is_private_and_an_open_one_is_refused(tmp_path):
    created = auth.ensure_token()
    if created["source"].startswith("/"):
        path = Path(created["source"])
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    open_file = tmp_path / "open_token"
    open_file.write_text("an-open-token-0123456789\n")
    open_file.chmod(0o644)
    result = python("import comet; comet.init(_temp_dir=%r)" % str(tmp_path / "c"),
                    {"COMET_AUTH_TOKEN_PATH": str(open_file), "COMET_AUTH_TOKEN": None})
    assert result.returncode != 0
    assert "AuthenticationError" in result.stderr and "chmod 600" in result.stderr, result.stderr


def test_new_token_is_created_where_the_path_says(tmp_path):
    path = tmp_path / "secrets" / "token"
    result = python("import comet; comet.init(_temp_dir=%r); print(comet.get(comet.put(7)))"
                    % str(tmp_path / "c"),
                    {"COMET_AUTH_TOKEN_PATH": str(path), "COMET_AUTH_TOKEN": None})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("7")
    assert len(path.read_text().strip()) == 64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_node_and_driver_with_a_wrong_token_are_refused(cluster: Cluster, tmp_path):
    cluster.start_head("--num-cpus", "1")
    wrong = {"COMET_AUTH_TOKEN": WRONG_TOKEN}
    joined = cli("start", "--address", cluster.gcs_address, "--temp-dir",
                 tmp_path / "other", env=wrong)
    assert joined.returncode != 0
    assert "token" in joined.stderr and "COMET_AUTH_TOKEN" in joined.stderr, joined.stderr
    assert len([n for n in list_nodes(cluster.gcs_address) if n["state"] == "ALIVE"]) == 1

    driver = python("import comet; comet.init(address=%r)" % cluster.gcs_address, wrong)
    assert driver.returncode != 0
    assert "AuthenticationError" in driver.stderr, driver.stderr
    assert "token" in driver.stderr and "COMET_AUTH_TOKEN" in driver.stderr, driver.stderr

    # The right token (found in ~/.comet/auth_token like the head's) works.
    comet.init(address=cluster.gcs_address)
    assert comet.get(comet.put("ok")) == "ok"


def test_disabled_auth_refuses_non_loopback_addresses(tmp_path):
    result = cli("start", "--head", "--auth-mode=disabled", "--node-ip-address", "0.0.0.0",
                 "--temp-dir", tmp_path, "--no-include-dashboard")
    assert result.returncode != 0
    assert "loopback" in result.stderr and "disabled" in result.stderr, result.stderr


def test_disabled_auth_runs_on_loopback_with_a_warning(tmp_path):
    result = python("import comet; comet.init(_temp_dir=%r); print(comet.get(comet.put(5)))"
                    % str(tmp_path / "c"), {"COMET_AUTH_MODE": "disabled"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("5")
    assert "auth is disabled" in result.stderr, result.stderr


def test_session_and_socket_folders_are_private(comet_start):
    comet_start(num_cpus=1)
    ctx = worker_context.get()
    session = Path(ctx.session_dir)
    assert stat.S_IMODE(session.stat().st_mode) == 0o700
    sockets = Path(os.path.realpath(session / "sockets"))
    assert stat.S_IMODE(sockets.stat().st_mode) == 0o700
    assert (sockets / "plasma_store").is_socket()
    # Nothing in the session holds the token.
    token = auth.load()["token"]
    for path in session.rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert token not in path.read_text(errors="replace"), path
