"""Microbenchmark workloads, run the same way against Comet and Ray.

    python bench/workloads.py --system comet|ray --workload NAME [--scale S]

Prints one JSON line: {"workload", "system", "value", "unit"}. Names follow
Ray's own microbenchmarks (ray/_private/ray_perf.py) where one exists.
The module is imported as `ray` in both cases: Comet runs Ray Core code.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
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


@workload("tasks/s")
def single_client_tasks_async_printing(ray, scale: float) -> float:
    """single_client_tasks_async where each task prints a line: the line
    streams to the driver's terminal (here a pipe), deduplicated as both
    systems do by default."""
    @ray.remote
    def noisy(i):
        print("finished item", i)
        return None

    ray.get([noisy.remote(i) for i in range(100)])
    n = int(5000 * scale)
    return timed(lambda: ray.get([noisy.remote(i) for i in range(n)]), n)


def _bench_wheel(folder: str) -> str:
    """A one-module wheel built by hand, for a pip runtime_env that needs no
    network."""
    import base64
    import hashlib
    import zipfile

    name, dist = "cometbenchpkg", "cometbenchpkg-1.0.dist-info"
    files = {f"{name}.py": "VALUE = 1\n",
             f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
             f"{dist}/WHEEL": "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    def digest(text: str) -> str:
        raw = hashlib.sha256(text.encode()).digest()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    record = [f"{p},sha256={digest(t)},{len(t)}" for p, t in files.items()]
    path = os.path.join(folder, f"{name}-1.0-py3-none-any.whl")
    with zipfile.ZipFile(path, "w") as archive:
        for p, t in files.items():
            archive.writestr(p, t)
        archive.writestr(f"{dist}/RECORD", "\n".join(record + [f"{dist}/RECORD,,"]) + "\n")
    return path


@workload("s per actor (lower is better)")
def actor_start_with_cached_pip_env_s(ray, scale: float) -> list[float]:
    """Time to a new actor's first reply when its runtime_env's pip env was
    made already (by a first actor, not timed): a fresh worker process
    started in the cached virtualenv."""
    folder = tempfile.mkdtemp(prefix="bench-pip-")
    env = {"pip": [_bench_wheel(folder)]}

    @ray.remote(runtime_env=env)
    class Probe:
        def value(self):
            import cometbenchpkg
            return cometbenchpkg.VALUE

    first = Probe.remote()
    assert ray.get(first.value.remote(), timeout=600) == 1
    ray.kill(first)
    samples = []
    for _ in range(max(1, int(5 * scale))):
        start = time.perf_counter()
        actor = Probe.remote()
        ray.get(actor.value.remote(), timeout=600)
        samples.append(time.perf_counter() - start)
        ray.kill(actor)
    shutil.rmtree(folder, ignore_errors=True)
    return samples


@workload("µs CPU per task (lower is better)")
def single_client_tasks_async_cpu(ray, scale: float) -> list[float]:
    """CPU time (user + system) that the driver and every process under it
    (GCS, raylet, workers: a local init starts them) spend per async task.
    Less sensitive than throughput to other work on the machine."""
    import psutil

    @ray.remote
    def noop():
        return None

    me = psutil.Process()

    def cpu_seconds() -> float:
        total = 0.0
        for proc in [me, *me.children(recursive=True)]:
            try:
                times = proc.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    ray.get([noop.remote() for _ in range(1000)])
    n = int(10000 * scale)
    samples = []
    for _ in range(3):
        before = cpu_seconds()
        ray.get([noop.remote() for _ in range(n)])
        samples.append((cpu_seconds() - before) / n * 1e6)
    return samples


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

    def run(count):
        for _ in range(count):
            pg = util.placement_group([{"CPU": 0.01}])
            ray.get(pg.ready())
            util.remove_placement_group(pg)

    run(2)  # warm the workers, as the other workloads do
    return timed(lambda: run(n), n)


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


# --- Cross-node transfer and spilling (issues 5 and 6) ---------------------
# These start their own clusters, so they are `manages_init` and return a
# list of samples (one per repetition); run_bench.py pools the samples.

GIB = 2**30


def _log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dir_bytes(root: str, needle: str) -> tuple[int, int, set[str]]:
    """(count, bytes, folders) of the files under root whose path contains needle."""
    count = total = 0
    folders = set()
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            if needle in path:
                try:
                    total += os.path.getsize(path)
                    count += 1
                    folders.add(os.path.relpath(dirpath, root))
                except OSError:
                    pass
    return count, total, folders


class _TwoNodes:
    """A head node (1 CPU, no custom resource) and a second node on the same
    machine with the custom resource {"remote": 1}; the driver connects to the
    head. Comet: `comet start` twice, `comet stop --temp-dir`. Ray:
    ray.cluster_utils.Cluster (not `ray start`/`ray stop`: `ray stop` kills
    every process named `raylet`, Comet's included)."""

    def __init__(self, ray, store_bytes: int):
        self.ray = ray
        self.comet = ray.__name__ == "comet"
        self.temp_dir = tempfile.mkdtemp(prefix="bxn-", dir="/tmp")
        self.cluster = None
        if self.comet:
            port = _free_port()
            cli = [sys.executable, "-m", "comet.scripts.cli", "start", "--temp-dir", self.temp_dir,
                   "--num-cpus", "1", "--object-store-memory", str(store_bytes)]
            subprocess.run(cli + ["--head", "--port", str(port), "--no-include-dashboard"],
                           check=True, capture_output=True, text=True)
            subprocess.run(cli + ["--address", f"127.0.0.1:{port}",
                                  "--resources", json.dumps({"remote": 1})],
                           check=True, capture_output=True, text=True)
            ray.init(address=f"127.0.0.1:{port}", _temp_dir=self.temp_dir)
        else:
            from ray.cluster_utils import Cluster

            os.environ["RAY_TMPDIR"] = self.temp_dir  # Ray's address file, not /tmp/ray
            os.makedirs(os.path.join(self.temp_dir, "ray"), exist_ok=True)
            self.cluster = Cluster(initialize_head=True, head_node_args={
                "num_cpus": 1, "object_store_memory": store_bytes, "include_dashboard": False,
                "temp_dir": self.temp_dir})
            self.cluster.add_node(num_cpus=1, resources={"remote": 1},
                                  object_store_memory=store_bytes)
            self.cluster.wait_for_nodes()
            ray.init(address=self.cluster.address)

    def stop(self) -> None:
        self.ray.shutdown()
        if self.comet:
            subprocess.run([sys.executable, "-m", "comet.scripts.cli", "stop", "--temp-dir",
                            self.temp_dir], capture_output=True, text=True)
        else:
            self.cluster.shutdown()
        shutil.rmtree(self.temp_dir, ignore_errors=True)


@workload("GB/s", manages_init=True)
def cross_node_transfer_1gib_gbps(ray, scale: float) -> list[float]:
    """Two nodes on this machine (1 CPU and a 2.5 GiB object store each); a
    task pinned to the second node (custom resource) returns a 1 GiB
    numpy array into that node's store; the driver on the head waits until it
    is ready (without fetching), then times `get()`: the pull across nodes
    plus the local map. A fresh object per repetition; 5 repetitions after
    one of the same size that is not counted."""
    size = max(16 * 2**20, int(GIB * min(scale, 1.0)))
    cluster = _TwoNodes(ray, store_bytes=int(2.5 * GIB))
    try:
        @ray.remote(resources={"remote": 1}, num_cpus=0)
        def where():
            return ray.get_runtime_context().get_node_id()

        @ray.remote(resources={"remote": 1}, num_cpus=0)
        def make(n, fill):
            return np.full(n, fill, dtype=np.uint8)

        driver_node = ray.get_runtime_context().get_node_id()
        assert ray.get(where.remote()) != driver_node, "the driver is on the remote node"
        samples = []
        for rep in range(6):  # rep 0 is a warm-up (first touch of both stores' pages)
            n = size
            inner = make.remote(n, rep)
            ready, _ = ray.wait([inner], timeout=300, fetch_local=False)
            assert ready, "the object did not become ready"
            start = time.perf_counter()
            value = ray.get(inner)
            elapsed = time.perf_counter() - start
            assert value.nbytes == n and value[0] == rep and value[-1] == rep
            assert (value[:: 4096] == rep).all()
            if rep:
                samples.append(n / 1e9 / elapsed)
            _log(f"rep {rep}{' (warm-up)' if not rep else ''}: {n / 2**20:.0f} MiB in "
                 f"{elapsed:.3f} s = {n / 1e9 / elapsed:.3f} GB/s")
            del value, inner
            time.sleep(0.5)  # let both copies be freed before the next object
        return samples
    finally:
        cluster.stop()


@workload("GB/s", manages_init=True)
def spill_write_gbps(ray, scale: float) -> list[float]:
    """One node (1 CPU) with a 512 MiB object store; `put` of 48 distinct 32 MiB
    arrays (1.5 GiB, 3x the store) held by the driver, so that at least 2/3
    must be spilled to disk: bytes put / seconds for all the puts. Asserts
    that spill files were written. Two repetitions, each in a fresh cluster."""
    return [_spill_round(ray, scale)[0] for _ in range(2)]


@workload("GB/s", manages_init=True)
def spill_restore_gbps(ray, scale: float) -> list[float]:
    """After spill_write_gbps's puts, `get` of every object back in put
    order (the first ones come back from disk), one at a time, each value
    checked and released before the next: bytes got / seconds in `get`. Two
    repetitions, each in a fresh cluster."""
    return [_spill_round(ray, scale)[1] for _ in range(2)]


def _spill_round(ray, scale: float) -> tuple[float, float]:
    store = 512 * 2**20
    size = 32 * 2**20
    count = max(24, int(48 * scale))
    temp_dir = tempfile.mkdtemp(prefix="bsp-", dir="/tmp")
    arrays = [np.full(size, i % 251, dtype=np.uint8) for i in range(count)]
    try:
        if ray.__name__ == "comet":
            ray.init(num_cpus=1, object_store_memory=store, include_dashboard=False,
                     _temp_dir=temp_dir)
            needle = os.sep + "spill" + os.sep + "spill-"
        else:
            os.environ["RAY_TMPDIR"] = temp_dir
            ray.init(num_cpus=1, object_store_memory=store, include_dashboard=False,
                     _temp_dir=temp_dir)
            needle = "ray_spilled_objects"
        refs = []
        start = time.perf_counter()
        for a in arrays:
            refs.append(ray.put(a))
        put_s = time.perf_counter() - start
        spilled_files, spilled, folders = _dir_bytes(temp_dir, needle)
        total = count * size
        assert spilled >= (total - store) * 0.9, \
            f"only {spilled / 2**20:.0f} MiB spilled of {total / 2**20:.0f} MiB put"
        del arrays
        get_s = 0.0
        for i, ref in enumerate(refs):
            start = time.perf_counter()
            value = ray.get(ref)
            get_s += time.perf_counter() - start
            assert value.nbytes == size and (value == i % 251).all(), f"object {i} is wrong"
            del value
        _log(f"put {total / 2**20:.0f} MiB in {put_s:.3f} s = {total / 1e9 / put_s:.3f} GB/s "
             f"({spilled / 2**20:.0f} MiB in {spilled_files} spill files right after, in "
             f"{sorted(folders)}); "
             f"got back in {get_s:.3f} s = {total / 1e9 / get_s:.3f} GB/s")
        return total / 1e9 / put_s, total / 1e9 / get_s
    finally:
        ray.shutdown()
        shutil.rmtree(temp_dir, ignore_errors=True)


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
