"""Plasma store throughput: create+write+seal and get, against plain memcpy.

Starts a real plasma_store process and measures, for 1 KiB, 1 MiB and 100 MiB
objects:
  - write: create, copy the bytes into shared memory, seal, release;
  - get:   get (zero-copy view) and release;
  - memcpy: numpy copy of the same bytes into an already-touched buffer, the
    ceiling for the write path.
Each figure is the median of several rounds (min and max shown).

    python bench/plasma_bench.py [--rounds 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import numpy as np

from comet._private.plasma_store import PlasmaStoreProcess
from comet._raylet import PlasmaClient

SIZES = [("1 KiB", 1 << 10, 20000), ("1 MiB", 1 << 20, 2000), ("100 MiB", 100 << 20, 10)]


def _round_write(client: PlasmaClient, src: np.ndarray, count: int) -> tuple[float, list[bytes]]:
    ids = [os.urandom(28) for _ in range(count)]
    start = time.perf_counter()
    for oid in ids:
        view = client.create(oid, src.nbytes)
        np.copyto(np.frombuffer(view, dtype=np.uint8), src)
        client.seal(oid)
        del view
    return time.perf_counter() - start, ids


def _round_get(client: PlasmaClient, ids: list[bytes]) -> float:
    start = time.perf_counter()
    for oid in ids:
        [view] = client.get([oid], 0)
        del view
    return time.perf_counter() - start


def _round_memcpy(src: np.ndarray, count: int) -> float:
    dst = np.empty_like(src)
    dst[:] = 0  # Touch every page first, as the store's reused memory is.
    start = time.perf_counter()
    for _ in range(count):
        np.copyto(dst, src)
    return time.perf_counter() - start


def summarize(samples: list[float]) -> dict[str, float]:
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples)}


def run(rounds: int) -> list[dict]:
    results = []
    with PlasmaStoreProcess(2 << 30) as store:
        client = PlasmaClient(store.socket_path, "bench")
        for name, size, count in SIZES:
            src = np.random.default_rng(0).integers(0, 255, size, dtype=np.uint8)
            write_gbps, get_ops, memcpy_gbps, write_ops = [], [], [], []
            for _ in range(rounds):
                t, ids = _round_write(client, src, count)
                write_gbps.append(size * count / t / 1e9)
                write_ops.append(count / t)
                get_ops.append(count / _round_get(client, ids))
                client.delete(ids)
                memcpy_gbps.append(size * count / _round_memcpy(src, count) / 1e9)
            results.append(
                {
                    "size": name,
                    "write_GBps": summarize(write_gbps),
                    "write_ops": summarize(write_ops),
                    "get_ops": summarize(get_ops),
                    "memcpy_GBps": summarize(memcpy_gbps),
                    "write_vs_memcpy": statistics.median(write_gbps)
                    / statistics.median(memcpy_gbps),
                }
            )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    results = run(args.rounds)
    print(f"{'size':>8} {'write GB/s':>18} {'write ops/s':>12} {'get ops/s':>12} "
          f"{'memcpy GB/s':>18} {'write/memcpy':>12}")
    for r in results:
        w, m = r["write_GBps"], r["memcpy_GBps"]
        print(
            f"{r['size']:>8} {w['median']:7.2f} [{w['min']:.2f}-{w['max']:.2f}] "
            f"{r['write_ops']['median']:12.0f} {r['get_ops']['median']:12.0f} "
            f"{m['median']:7.2f} [{m['min']:.2f}-{m['max']:.2f}] {r['write_vs_memcpy']:12.2f}"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
