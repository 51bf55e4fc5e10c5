"""The GCS's own CPU time for 20,000 tasks, memory against SQLite storage.

With SQLite, the GCS writes the task rows behind (one transaction a second);
this measures what that costs the GCS process (supervisor and child), which
shares the machine's cores with the workers. Comet against Comet: Ray's GCS
has no embedded storage to compare with.

    python bench/gcs_storage_cpu_bench.py [--rounds N]   (from /tmp)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import tempfile
import time

import psutil

import comet


@comet.remote
def noop(i: int) -> int:
    return i


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _gcs_cpu_s(temp_dir: str) -> float:
    total = 0.0
    for p in psutil.process_iter(["cmdline"]):
        cmd = p.info["cmdline"] or []
        if cmd and os.path.basename(cmd[0]) == "gcs_server" and any(temp_dir in c for c in cmd):
            for q in [p, *p.children()]:
                times = q.cpu_times()
                total += times.user + times.system
    return total


def _one(storage: str) -> tuple[float, float]:
    temp_dir = tempfile.mkdtemp(prefix="gcs-cpu-")
    started = subprocess.run(
        ["comet", "start", "--head", "--num-cpus=2", f"--gcs-storage={storage}",
         f"--temp-dir={temp_dir}", "--no-include-dashboard", f"--port={_free_port()}"],
        capture_output=True, text=True, check=True)
    address = re.search(r"(\d+\.\d+\.\d+\.\d+:\d+)", started.stdout).group(1)
    try:
        comet.init(address=address)
        comet.get([noop.remote(i) for i in range(200)])  # workers up
        cpu0, t0 = _gcs_cpu_s(temp_dir), time.monotonic()
        for _ in range(10):
            comet.get([noop.remote(i) for i in range(2000)])
        time.sleep(2.5)  # the last task events reach the GCS and its storage
        return _gcs_cpu_s(temp_dir) - cpu0, time.monotonic() - t0
    finally:
        comet.shutdown()
        subprocess.run(["comet", "stop", f"--temp-dir={temp_dir}"], capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, list[tuple[float, float]]] = {"memory": [], "sqlite": []}
    for _ in range(args.rounds):
        for storage in results:  # interleaved
            results[storage].append(_one(storage))
    print(json.dumps(results))
    print(f"{'storage':8} {'GCS CPU s / 20k tasks':>22} {'wall s':>8}")
    for storage, rows in results.items():
        cpu = sorted(r[0] for r in rows)[len(rows) // 2]
        wall = sorted(r[1] for r in rows)[len(rows) // 2]
        print(f"{storage:8} {cpu:22.3f} {wall:8.2f}")


if __name__ == "__main__":
    main()
