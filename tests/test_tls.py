"""Mutual TLS, end to end: `comet tls init` makes the certificates, a head and
a second node started with --tls-* run tasks and actors for a driver that has
them too, and a client without a certificate cannot even call the GCS."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from cli_cluster import Cluster, cli
from comet._private import auth

PROBE = Path(__file__).resolve().parent.parent / "bazel-bin" / "src" / "comet" / "tools" / \
    "auth_probe"

DRIVER = """
import comet
comet.init(address={address!r})
@comet.remote
def square(x):
    return x * x
@comet.remote(num_cpus=0)
class Counter:
    def __init__(self):
        self.n = 0
    def add(self, k):
        self.n += k
        return self.n
print("tasks", sum(comet.get([square.remote(i) for i in range(20)])))
c = Counter.remote()
print("actor", comet.get([c.add.remote(1) for _ in range(5)])[-1])
print("nodes", len([n for n in comet.nodes() if n["Alive"]]))
print("metrics", *[f"{{n['NodeManagerAddress']}}:{{n['MetricsExportPort']}}" for n in comet.nodes()])
"""


def _read_all(stream) -> str:
    chunks = []
    while chunk := stream.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks).decode()


@pytest.fixture
def certs(tmp_path) -> dict[str, str]:
    pytest.importorskip("cryptography")
    out = tmp_path / "tls"
    result = cli("tls", "init", out)
    assert result.returncode == 0, result.stderr
    assert oct((out / "node.key").stat().st_mode & 0o777) == "0o600"
    return {"COMET_TLS_CA": str(out / "ca.pem"), "COMET_TLS_CERT": str(out / "node.pem"),
            "COMET_TLS_KEY": str(out / "node.key")}


def test_tls_cluster_runs_tasks_and_actors(cluster: Cluster, certs):
    flags = [f"--tls-ca={certs['COMET_TLS_CA']}", f"--tls-cert={certs['COMET_TLS_CERT']}",
             f"--tls-key={certs['COMET_TLS_KEY']}"]
    cluster.start_head("--num-cpus", "1", *flags)
    cluster.add_node("--num-cpus", "1", *flags)
    driver = subprocess.run([sys.executable, "-c", DRIVER.format(address=cluster.gcs_address)],
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, **certs})
    assert driver.returncode == 0, driver.stderr
    assert "tasks 2470" in driver.stdout and "actor 5" in driver.stdout, driver.stdout
    assert "nodes 2" in driver.stdout, driver.stdout

    # Each raylet's /metrics is HTTPS with the node's certificate: the token a
    # scraper sends never travels in clear, and plain HTTP gets nowhere.
    endpoints = next(line for line in driver.stdout.splitlines()
                     if line.startswith("metrics ")).split()[1:]
    assert len(endpoints) == 2, driver.stdout
    context = ssl.create_default_context(cafile=certs["COMET_TLS_CA"])
    token = auth.load()["token"]
    for endpoint in endpoints:
        host, port = endpoint.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=30) as raw, \
                context.wrap_socket(raw, server_hostname="comet-cluster") as tls:
            tls.sendall(f"GET /metrics HTTP/1.1\r\nHost: x\r\n"
                        f"Authorization: Bearer {token}\r\n\r\n".encode())
            answer = _read_all(tls)
        assert answer.startswith("HTTP/1.1 200 OK"), answer[:200]
        assert "comet_grpc_unauthenticated_total" in answer, answer[:2000]
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://{endpoint}/metrics", timeout=30).read()

    # Without a certificate, the token alone does not get a call through.
    plain = subprocess.run([sys.executable, "-c", DRIVER.format(address=cluster.gcs_address)],
                           capture_output=True, text=True, timeout=120,
                           env={k: v for k, v in os.environ.items() if k not in certs})
    assert plain.returncode != 0
    if PROBE.exists():
        out = subprocess.run([str(PROBE), "--target=gcs", f"--address={cluster.gcs_address}",
                              f"--token={auth.load()['token']}"],
                             capture_output=True, text=True, timeout=120, check=True).stdout
        codes = {line.split(" ")[1] for line in out.splitlines()}
        assert "0" not in codes, out


def test_tls_flags_must_come_together(tmp_path, certs):
    result = cli("start", "--head", "--temp-dir", tmp_path / "c", "--no-include-dashboard",
                 f"--tls-ca={certs['COMET_TLS_CA']}")
    assert result.returncode != 0
    assert "--tls-cert" in result.stderr and "--tls-key" in result.stderr, result.stderr


def test_tls_head_serves_the_dashboard_over_https(tmp_path, certs):
    from cli_cluster import free_port

    temp_dir = tmp_path / "head"
    port = free_port()
    flags = [f"--tls-ca={certs['COMET_TLS_CA']}", f"--tls-cert={certs['COMET_TLS_CERT']}",
             f"--tls-key={certs['COMET_TLS_KEY']}"]
    started = cli("start", "--head", "--port", free_port(), "--num-cpus", 1, "--temp-dir",
                  temp_dir, "--dashboard-port", port, *flags)
    try:
        assert started.returncode == 0, started.stderr
        url = f"https://127.0.0.1:{port}"
        assert url in started.stdout, started.stdout
        client = subprocess.run(
            [sys.executable, "-c",
             "from comet.job_submission import JobSubmissionClient\n"
             f"print('jobs', JobSubmissionClient({url!r}).list_jobs())"],
            capture_output=True, text=True, timeout=60, env={**os.environ, **certs})
        assert client.returncode == 0, client.stderr
        assert "jobs []" in client.stdout, client.stdout
        # Without the cluster's CA the certificate is not trusted.
        untrusted = subprocess.run(
            [sys.executable, "-c",
             "from comet.job_submission import JobSubmissionClient\n"
             f"JobSubmissionClient({url!r}).list_jobs()"],
            capture_output=True, text=True, timeout=60,
            env={k: v for k, v in os.environ.items() if k not in certs})
        assert untrusted.returncode != 0
        assert "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr, untrusted.stderr
    finally:
        cli("stop", "--force", "--temp-dir", temp_dir)
