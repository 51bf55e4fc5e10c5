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


def workload(unit: str, manages_init: bool = False):
    """Registers a workload; `manages_init` ones call init/shutdown themselves."""

    def register(fn):
        fn.manages_init = manages_init
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


@workload("tasks/s")
def multi_client_tasks_async(ray, scale: float) -> float:
    @ray.remote
    def noop():
        return None

    @ray.remote(num_cpus=0)
    def client(n):
        ray.get([noop.remote() for _ in range(n)])
        return n

    ray.get([noop.remote() for _ in range(100)])
    n = int(2000 * scale)
    clients = 2
    return timed(lambda: ray.get([client.remote(n) for _ in range(clients)]), n * clients)


def _actor(ray, **options):
    class Actor:
        def small_value(self):
            return b"ok"

        def small_value_batch(self, n):
            return n

    return ray.remote(**options)(Actor) if options else ray.remote(Actor)


@workload("calls/s")
def actor_calls_sync_1_1(ray, scale: float) -> float:
    a = _actor(ray).remote()
    ray.get(a.small_value.remote())
    n = int(1000 * scale)

    def run():
        for _ in range(n):
            ray.get(a.small_value.remote())

    return timed(run, n)


@workload("calls/s")
def actor_calls_async_1_1(ray, scale: float) -> float:
    a = _actor(ray).remote()
    ray.get(a.small_value.remote())
    n = int(5000 * scale)
    return timed(lambda: ray.get([a.small_value.remote() for _ in range(n)]), n)


@workload("calls/s")
def actor_calls_concurrent_1_1(ray, scale: float) -> float:
    a = _actor(ray, max_concurrency=16).remote()
    ray.get(a.small_value.remote())
    n = int(5000 * scale)
    return timed(lambda: ray.get([a.small_value.remote() for _ in range(n)]), n)


@workload("calls/s")
def actor_calls_async_1_n(ray, scale: float) -> float:
    actors = [_actor(ray).remote() for _ in range(4)]
    ray.get([a.small_value.remote() for a in actors])
    n = int(5000 * scale)
    return timed(lambda: ray.get([actors[i % 4].small_value.remote() for i in range(n)]), n)


@workload("calls/s")
def actor_calls_async_n_n(ray, scale: float) -> float:
    """n callers (tasks) each calling their own share of n actors."""
    actors = [_actor(ray).remote() for _ in range(2)]
    ray.get([a.small_value.remote() for a in actors])

    @ray.remote(num_cpus=0)
    def caller(handles, n):
        ray.get([handles[i % len(handles)].small_value.remote() for i in range(n)])
        return n

    n = int(2000 * scale)
    return timed(lambda: ray.get([caller.remote(actors, n) for _ in range(2)]), 2 * n)


@workload("groups/s")
def placement_group_create_removal(ray, scale: float) -> float:
    from importlib import import_module

    util = import_module(ray.__name__ + ".util.placement_group")
    n = max(2, int(20 * scale))

    def run():
        for _ in range(n):
            pg = util.placement_group([{"CPU": 0.01}])
            ray.get(pg.ready())
            util.remove_placement_group(pg)

    return timed(run, n)


@workload("calls/s")
def async_actor_calls_async(ray, scale: float) -> float:
    @ray.remote
    class AsyncActor:
        async def small_value(self):
            return b"ok"

    a = AsyncActor.remote()
    ray.get(a.small_value.remote())
    n = int(5000 * scale)
    return timed(lambda: ray.get([a.small_value.remote() for _ in range(n)]), n)


@workload("tasks/s")
def task_with_10k_ref_args(ray, scale: float) -> float:
    @ray.remote
    def many(*args):
        return len(args)

    refs = [ray.put(i) for i in range(10_000)]
    ray.get(many.remote(*refs))
    n = max(1, int(3 * scale))

    def run():
        for _ in range(n):
            assert ray.get(many.remote(*refs)) == 10_000

    return timed(run, n)


@workload("gets/s")
def get_object_containing_10k_refs(ray, scale: float) -> float:
    outer = ray.put([ray.put(i) for i in range(10_000)])
    n = max(1, int(10 * scale))

    def run():
        for _ in range(n):
            assert len(ray.get(outer)) == 10_000

    return timed(run, n)


@workload("s (lower is better)", manages_init=True)
def init_to_first_result_s(ray, scale: float) -> float:
    start = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False)

    @ray.remote
    def one():
        return 1

    ray.get(one.remote())
    elapsed = time.perf_counter() - start
    ray.shutdown()
    return elapsed


@workload("s (lower is better)", manages_init=True)
def shutdown_s(ray, scale: float) -> float:
    ray.init(num_cpus=2, include_dashboard=False)

    @ray.remote
    def one():
        return 1

    ray.get([one.remote() for _ in range(4)])
    start = time.perf_counter()
    ray.shutdown()
    return time.perf_counter() - start


@workload("MiB RSS (lower is better)", manages_init=True)
def idle_cluster_memory_mib(ray, scale: float) -> float:
    import psutil

    ray.init(num_cpus=2, include_dashboard=False)

    @ray.remote
    def one():
        return 1

    ray.get([one.remote() for _ in range(4)])
    time.sleep(3)  # let start-up settle
    me = psutil.Process()
    procs = [me] + me.children(recursive=True)
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    ray.shutdown()
    return total / 2**20


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
    fn, unit = WORKLOADS[args.workload]
    if fn.manages_init:
        value = fn(ray, args.scale)
    else:
        ray.init(num_cpus=2, include_dashboard=False)
        try:
            value = fn(ray, args.scale)
        finally:
            ray.shutdown()
    print(json.dumps({"workload": args.workload, "system": args.system, "value": value,
                      "unit": unit}))


if __name__ == "__main__":
    main()
