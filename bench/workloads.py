"""Microbenchmark workloads, run the same way against Comet and Ray.

    python bench/workloads.py --system comet|ray --workload NAME [--scale S]

Prints one JSON line: {"workload", "system", "value", "unit"}. Names follow
Ray's own microbenchmarks (ray/_private/ray_perf.py) where one exists.
The module is imported as `ray` in both cases: Comet runs Ray Core code.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

WORKLOADS = {}


def workload(unit: str):
    def register(fn):
        WORKLOADS[fn.__name__] = (fn, unit)
        return fn

    return register


def timed(fn, n: int) -> float:
    """Runs fn() and returns n / elapsed seconds."""
    start = time.perf_counter()
    fn()
    return n / (time.perf_counter() - start)


@workload("tasks/s")
def single_client_tasks_sync(ray, scale: float) -> float:
    @ray.remote
    def noop():
        return None

    ray.get([noop.remote() for _ in range(100)])  # warm the workers
    n = int(1000 * scale)

    def run():
        for _ in range(n):
            ray.get(noop.remote())

    return timed(run, n)


@workload("tasks/s")
def single_client_tasks_async(ray, scale: float) -> float:
    @ray.remote
    def noop():
        return None

    ray.get([noop.remote() for _ in range(100)])
    n = int(5000 * scale)
    return timed(lambda: ray.get([noop.remote() for _ in range(n)]), n)


@workload("calls/s")
def single_client_put_calls(ray, scale: float) -> float:
    n = int(5000 * scale)

    def run():
        for i in range(n):
            ray.put(i)

    return timed(run, n)


@workload("calls/s")
def single_client_get_calls(ray, scale: float) -> float:
    ref = ray.put(12345)
    n = int(5000 * scale)

    def run():
        for _ in range(n):
            ray.get(ref)

    return timed(run, n)


@workload("GB/s")
def single_client_put_gigabytes(ray, scale: float) -> float:
    array = np.ones(100 * 2**20, dtype=np.uint8)
    ray.get(ray.put(array))
    n = max(2, int(10 * scale))

    def run():
        for _ in range(n):
            ref = ray.put(array)
            del ref

    return timed(run, n) * array.nbytes / 1e9


@workload("GB/s")
def single_client_get_gigabytes(ray, scale: float) -> float:
    array = np.ones(100 * 2**20, dtype=np.uint8)
    ref = ray.put(array)
    n = max(2, int(20 * scale))

    def run():
        for _ in range(n):
            out = ray.get(ref)
            assert out.nbytes == array.nbytes
            del out

    return timed(run, n) * array.nbytes / 1e9


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--system", choices=["comet", "ray"], required=True)
    parser.add_argument("--workload", choices=sorted(WORKLOADS), required=True)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    if args.system == "comet":
        import comet as ray
    else:
        import ray  # type: ignore[no-redef]
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        fn, unit = WORKLOADS[args.workload]
        value = fn(ray, args.scale)
    finally:
        ray.shutdown()
    print(json.dumps({"workload": args.workload, "system": args.system, "value": value,
                      "unit": unit}))


if __name__ == "__main__":
    main()
