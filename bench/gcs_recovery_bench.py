"""GCS fault tolerance (issue 15): what durable GCS storage costs and how long
a killed GCS takes to come back. Comet against Comet: Ray's GCS recovery needs
an external Redis and a GCS restarted by hand, so there is no like-for-like
Ray figure on one machine.

    python bench/gcs_recovery_bench.py [--rounds 3]

Each round, for each storage (memory, sqlite), interleaved: a head started
with `comet start --head --gcs-storage=S` in a temp dir of its own, a driver in
this process, then
  - tasks/s: 2000 no-op tasks submitted at once and waited for;
  - actors/s: 100 actors created and called once (every creation is written to
    the GCS's tables: the path durable storage slows down);
  - recovery s (sqlite only; a memory GCS comes back empty): `kill -9` of the
    GCS, then the time until a task of a function never seen before is done
    (its export is a KV write, so it needs the restarted GCS).
Prints median [min-max] per figure and the ratio sqlite/memory.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import psutil

import comet

CLI = [sys.executable, "-m", "comet.scripts.cli"]


def _cli(*args: str) -> None:
    subprocess.run([*CLI, *args], check=True, capture_output=True, text=True, timeout=120)


def _gcs_child(temp_dir: str) -> psutil.Process:
    for p in psutil.process_iter(["cmdline"]):
        cmd = p.info["cmdline"] or []
        if cmd and os.path.basename(cmd[0]) == "gcs_server" and "--supervise" in cmd and \
                temp_dir in " ".join(cmd):
            return p.children()[0]
    raise LookupError("no supervised gcs_server")


@comet.remote
def noop() -> None:
    return None


@comet.remote
class Box:
    def get(self) -> int:
        return 1


def one_round(storage: str, port: int) -> dict[str, float]:
    temp_dir = tempfile.mkdtemp(prefix=f"gcsbench-{storage}-")
    _cli("start", "--head", f"--port={port}", "--temp-dir", temp_dir, "--num-cpus=2",
         "--no-include-dashboard", f"--gcs-storage={storage}")
    out: dict[str, float] = {}
    try:
        comet.init(address=f"127.0.0.1:{port}")
        comet.get([noop.remote() for _ in range(200)])  # warm the workers
        start = time.perf_counter()
        comet.get([noop.remote() for _ in range(2000)])
        out["tasks/s"] = 2000 / (time.perf_counter() - start)
        start = time.perf_counter()
        actors = [Box.remote() for _ in range(100)]
        comet.get([a.get.remote() for a in actors])
        out["actors/s"] = 100 / (time.perf_counter() - start)
        for a in actors:
            comet.kill(a)
        if storage == "sqlite":
            gcs = _gcs_child(temp_dir)

            @comet.remote
            def fresh() -> int:
                return 1

            start = time.perf_counter()
            os.kill(gcs.pid, signal.SIGKILL)
            comet.get(fresh.remote(), timeout=120)
            out["recovery s"] = time.perf_counter() - start
    finally:
        comet.shutdown()
        _cli("stop", "--force", "--temp-dir", temp_dir)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", type=int, default=26380)
    args = parser.parse_args()
    samples: dict[tuple[str, str], list[float]] = {}
    for r in range(args.rounds):
        order = ["memory", "sqlite"] if r % 2 == 0 else ["sqlite", "memory"]
        for storage in order:
            for name, value in one_round(storage, args.port).items():
                samples.setdefault((storage, name), []).append(value)

    def cell(values: list[float]) -> str:
        return f"{statistics.median(values):8.2f} [{min(values):.2f}-{max(values):.2f}]"

    print(f"{'figure':12} {'memory':>24} {'sqlite':>24} {'sqlite/memory':>14}")
    for name in ("tasks/s", "actors/s", "recovery s"):
        mem, sql = samples.get(("memory", name)), samples.get(("sqlite", name))
        ratio = f"{statistics.median(sql) / statistics.median(mem):14.2f}" if mem and sql else \
            f"{'-':>14}"
        print(f"{name:12} {cell(mem) if mem else '-':>24} {cell(sql) if sql else '-':>24} {ratio}")


if __name__ == "__main__":
    main()
