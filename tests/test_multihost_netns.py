"""Two nodes as separate hosts: network namespaces with their own addresses,
joined by a veth pair, made by the test itself (skipped where the machine does
not allow it). The head and the driver live in one namespace, the second node
in the other; they only reach each other over 10.x addresses."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from cli_cluster import CLI, free_port, processes_of
from conftest import wait_for_condition

SUBNET = f"10.{77 + os.getpid() % 100}.{os.getpid() % 250}"
HEAD_IP, OTHER_IP = f"{SUBNET}.1", f"{SUBNET}.2"


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, check=check, timeout=60)


@pytest.fixture
def two_hosts():
    if shutil.which("ip") is None or os.geteuid() != 0:
        pytest.skip("needs iproute2 and root to make network namespaces")
    tag = str(os.getpid())
    a, b = f"comet-a-{tag}", f"comet-b-{tag}"
    veth_a, veth_b = f"cva{tag}"[:15], f"cvb{tag}"[:15]
    made = []
    try:
        for ns in (a, b):
            if sh("ip", "netns", "add", ns, check=False).returncode != 0:
                pytest.skip("this machine does not allow network namespaces")
            made.append(ns)
            sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
        sh("ip", "link", "add", veth_a, "netns", a, "type", "veth", "peer", "name", veth_b,
           "netns", b)
        sh("ip", "netns", "exec", a, "ip", "addr", "add", f"{HEAD_IP}/24", "dev", veth_a)
        sh("ip", "netns", "exec", b, "ip", "addr", "add", f"{OTHER_IP}/24", "dev", veth_b)
        sh("ip", "netns", "exec", a, "ip", "link", "set", veth_a, "up")
        sh("ip", "netns", "exec", b, "ip", "link", "set", veth_b, "up")
        yield a, b
    finally:
        for ns in made:
            sh("ip", "netns", "del", ns, check=False)


def in_ns(ns: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", "netns", "exec", ns, *args], capture_output=True, text=True,
                          timeout=timeout, env=os.environ.copy())


DRIVER = textwrap.dedent("""
    import sys
    import numpy as np
    import comet

    comet.init(address=sys.argv[1])
    nodes = {n["NodeManagerAddress"] for n in comet.nodes() if n["Alive"]}
    assert nodes == {sys.argv[2], sys.argv[3]}, nodes

    @comet.remote(resources={"host_b": 1})
    def produce():
        ctx = comet.get_runtime_context()
        return np.arange(20 * 1024 * 1024 // 8, dtype=np.int64), ctx.get_node_id()

    array, where = comet.get(produce.remote(), timeout=120)
    other = [n["NodeID"] for n in comet.nodes() if n["NodeManagerAddress"] == sys.argv[3]][0]
    assert where == other, (where, other)
    assert array.sum() == np.arange(20 * 1024 * 1024 // 8, dtype=np.int64).sum()

    @comet.remote(resources={"host_b": 1})
    def total(a):
        return int(a.sum())

    ref = comet.put(np.ones(5 * 1024 * 1024 // 8, dtype=np.int64))
    assert comet.get(total.remote(ref), timeout=120) == 5 * 1024 * 1024 // 8
    print("MULTIHOST-OK")
""")


@pytest.mark.timeout(240)
def test_nodes_on_separate_hosts(two_hosts, tmp_path):
    ns_a, ns_b = two_hosts
    port = free_port()
    temp_a, temp_b = tmp_path / "a", tmp_path / "b"
    try:
        head = in_ns(ns_a, *CLI, "start", "--head", "--port", str(port), "--node-ip-address",
                     HEAD_IP, "--num-cpus", "1", "--temp-dir", str(temp_a),
                     "--no-include-dashboard")
        assert head.returncode == 0, head.stderr
        # The other host sees the head only at its own address, never at loopback.
        assert in_ns(ns_b, *CLI, "start", "--address", f"127.0.0.1:{port}",
                     "--temp-dir", str(temp_b / "x")).returncode != 0
        other = in_ns(ns_b, *CLI, "start", "--address", f"{HEAD_IP}:{port}",
                      "--node-ip-address", OTHER_IP, "--num-cpus", "1",
                      "--resources", '{"host_b": 1}', "--temp-dir", str(temp_b))
        assert other.returncode == 0, other.stderr
        script = tmp_path / "driver.py"
        script.write_text(DRIVER)
        driver = in_ns(ns_a, sys.executable, str(script), f"{HEAD_IP}:{port}", HEAD_IP, OTHER_IP,
                       timeout=200)
        assert "MULTIHOST-OK" in driver.stdout, driver.stdout + driver.stderr
    finally:
        for temp in (temp_a, temp_b):
            subprocess.run([*CLI, "stop", "--force", "--temp-dir", str(temp)],
                           capture_output=True, timeout=60)
    assert wait_for_condition(
        lambda: not processes_of(temp_a) and not processes_of(temp_b), timeout=20)
