"""Remote functions and objects end to end, against real local clusters."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

import comet
from comet import exceptions
from conftest import wait_for_condition


def test_simple_task_and_put_get(shared):
    @comet.remote
    def add(a, b):
        return a + b

    assert comet.get(add.remote(1, 2)) == 3
    ref = comet.put({"x": [1, 2, 3]})
    assert comet.get(ref) == {"x": [1, 2, 3]}
    assert comet.get([add.remote(i, i) for i in range(5)]) == [0, 2, 4, 6, 8]


def test_kwargs_and_multiple_returns(shared):
    @comet.remote(num_returns=3)
    def split(a, *, scale=1):
        return a * scale, a + scale, "done"

    x, y, z = split.remote(5, scale=3)
    assert comet.get([x, y, z]) == [15, 8, "done"]

    @comet.remote(num_returns=2)
    def wrong():
        return 1

    a, _ = wrong.remote()
    with pytest.raises(ValueError, match="num_returns=2"):
        comet.get(a)


def test_nested_tasks(shared):
    @comet.remote
    def leaf(x):
        return x * 10

    @comet.remote
    def middle(x):
        return sum(comet.get([leaf.remote(x), leaf.remote(x + 1)]))

    @comet.remote
    def root():
        return comet.get([middle.remote(i) for i in range(3)])

    assert comet.get(root.remote(), timeout=120) == [10, 30, 50]


def test_ten_thousand_task_fan_out(shared):
    @comet.remote
    def inc(x):
        return x + 1

    refs = [inc.remote(i) for i in range(10_000)]
    assert comet.get(refs, timeout=600) == list(range(1, 10_001))


def test_ref_arguments_are_resolved_and_nested_refs_passed_as_refs(shared):
    @comet.remote
    def double(x):
        return 2 * x

    @comet.remote
    def inspect(top, nested):
        assert not isinstance(top, comet.ObjectRef)
        assert isinstance(nested[0], comet.ObjectRef)
        return top + comet.get(nested[0])

    a = comet.put(20)
    b = double.remote(a)
    assert comet.get(inspect.remote(b, [double.remote(1)])) == 42


def test_large_numpy_array_is_zero_copy(shared):
    array = np.arange(20 * 2**20, dtype=np.float64)  # 160 MiB
    ref = comet.put(array)
    out = comet.get(ref)
    assert isinstance(out, np.ndarray)
    assert not out.flags.writeable
    np.testing.assert_array_equal(out, array)
    again = comet.get(ref)
    assert out.ctypes.data == again.ctypes.data  # the same shared memory, no copy

    @comet.remote
    def total(a):
        return float(a.sum()), a.flags.writeable

    assert comet.get(total.remote(ref)) == (float(array.sum()), False)

    @comet.remote
    def make():
        return np.ones(16 * 2**20, dtype=np.uint8)

    made = comet.get(make.remote())
    assert made.nbytes == 16 * 2**20 and int(made.sum()) == made.nbytes


def test_get_and_wait_timeouts(shared):
    @comet.remote
    def slow(t):
        time.sleep(t)
        return t

    ref = slow.remote(3)
    with pytest.raises(exceptions.GetTimeoutError):
        comet.get(ref, timeout=0.1)
    with pytest.raises(TimeoutError):
        comet.get([ref], timeout=0)
    fast = slow.remote(0)
    ready, not_ready = comet.wait([ref, fast], num_returns=1, timeout=30)
    assert ready == [fast] and not_ready == [ref]
    ready, not_ready = comet.wait([ref], timeout=0.05)
    assert ready == [] and not_ready == [ref]
    ready, not_ready = comet.wait([ref, fast], num_returns=2, timeout=60)
    assert set(ready) == {ref, fast} and not_ready == []


def test_exceptions_keep_type_and_traceback(shared):
    @comet.remote
    def fail(x):
        raise ValueError(f"bad value {x}")

    ref = fail.remote(7)
    with pytest.raises(ValueError, match="bad value 7") as info:
        comet.get(ref)
    err = info.value
    assert isinstance(err, exceptions.RayTaskError)
    assert "fail" in str(err) and "line" in str(err) and "raise ValueError" in str(err)

    @comet.remote
    def downstream(x):
        return x

    with pytest.raises(ValueError):
        comet.get(downstream.remote(ref))


def test_retry_after_worker_dies(shared, tmp_path):
    marker = tmp_path / "attempts"

    @comet.remote(max_retries=2)
    def crash_once(path):
        with open(path, "a") as f:
            f.write("x")
        if os.path.getsize(path) == 1:
            os._exit(1)
        return "survived"

    assert comet.get(crash_once.remote(str(marker)), timeout=120) == "survived"
    assert marker.read_text() == "xx"

    @comet.remote(max_retries=0)
    def always_crash():
        os._exit(1)

    with pytest.raises(exceptions.WorkerCrashedError):
        comet.get(always_crash.remote(), timeout=120)


def test_retry_exceptions(shared, tmp_path):
    marker = tmp_path / "tries"

    @comet.remote(max_retries=3, retry_exceptions=[KeyError])
    def flaky(path):
        with open(path, "a") as f:
            f.write("x")
        if os.path.getsize(path) < 3:
            raise KeyError("not yet")
        return os.path.getsize(path)

    assert comet.get(flaky.remote(str(marker)), timeout=120) == 3

    @comet.remote(max_retries=3, retry_exceptions=[KeyError])
    def other_error(path):
        with open(path, "a") as f:
            f.write("y")
        raise TypeError("not retried")

    other = tmp_path / "other"
    with pytest.raises(TypeError):
        comet.get(other_error.remote(str(other)), timeout=120)
    assert other.read_text() == "y"


def test_cancel_running_task(shared):
    @comet.remote
    def forever():
        while True:
            time.sleep(0.01)

    ref = forever.remote()
    time.sleep(1.0)  # let it start; the cancel below works either way
    comet.cancel(ref)
    with pytest.raises(exceptions.TaskCancelledError):
        comet.get(ref, timeout=60)

    ref = forever.remote()
    comet.cancel(ref, force=True)
    with pytest.raises(exceptions.TaskCancelledError):
        comet.get(ref, timeout=60)


def test_generator_task_streams_refs(shared):
    @comet.remote(num_returns="streaming")
    def count(n):
        for i in range(n):
            yield i * i

    gen = count.remote(5)
    assert [comet.get(ref) for ref in gen] == [0, 1, 4, 9, 16]

    @comet.remote(num_returns="streaming")
    def broken():
        yield 1
        raise RuntimeError("mid-stream")

    refs = list(broken.remote())
    assert comet.get(refs[0]) == 1
    with pytest.raises(RuntimeError, match="mid-stream"):
        comet.get(refs[1])


def test_runtime_context(shared):
    @comet.remote
    def ids():
        ctx = comet.get_runtime_context()
        return ctx.get_job_id(), ctx.get_task_id(), ctx.get_node_id()

    job, task, node = comet.get(ids.remote())
    ctx = comet.get_runtime_context()
    assert job == ctx.get_job_id()
    assert node == ctx.get_node_id()
    assert task is not None and ctx.get_task_id() is None


def test_bad_input_is_rejected_at_the_call_site(shared):
    import threading

    @comet.remote
    def f(x):
        return x

    with pytest.raises(TypeError, match="lock"):
        f.remote({"lock": threading.Lock()})
    with pytest.raises(TypeError):
        comet.get(42)
    with pytest.raises(TypeError):
        comet.get([comet.put(1), "nope"])
    with pytest.raises(ValueError):
        comet.remote(num_cpus=-1)(lambda: None)
    with pytest.raises(ValueError, match="num_cpu"):
        f.options(num_cpu=2)
    with pytest.raises(TypeError, match="remote"):
        f(1)
    with pytest.raises(TypeError):
        comet.put(comet.put(1))
    with pytest.raises(ValueError):
        comet.wait([comet.put(1)], num_returns=2)
    assert comet.get(f.remote(5)) == 5  # nothing broke


def test_resources_cluster_view(shared):
    total = comet.cluster_resources()
    assert total["CPU"] == 2
    assert wait_for_condition(lambda: comet.available_resources().get("CPU", 0) == 2)
    nodes = comet.nodes()
    assert len(nodes) == 1 and nodes[0]["Alive"]


def test_reference_counting_frees_memory(shared):
    from comet._private import worker_context

    cw = worker_context.core_worker()
    plasma_used = lambda: cw_plasma_used(cw)  # noqa: E731
    before = plasma_used()
    ref = comet.put(np.zeros(8 * 2**20, dtype=np.uint8))
    assert plasma_used() >= before + 8 * 2**20
    del ref
    assert wait_for_condition(lambda: plasma_used() <= before)

    @comet.remote
    def big():
        return np.zeros(8 * 2**20, dtype=np.uint8)

    out = big.remote()
    comet.get(out)
    assert plasma_used() >= before + 8 * 2**20
    del out
    assert wait_for_condition(lambda: plasma_used() <= before)


def cw_plasma_used(cw) -> int:
    from comet._raylet import PlasmaClient
    from comet._private import worker_context

    client = PlasmaClient(worker_context.get().node.plasma_socket)
    try:
        return client.stats()["used_bytes"]
    finally:
        client.disconnect()


def test_infeasible_task_warns_and_stays_pending(shared):
    @comet.remote(resources={"unobtainium": 1})
    def never():
        return 1

    with pytest.warns(UserWarning, match="cannot be satisfied"):
        ref = never.remote()
    ready, _ = comet.wait([ref], timeout=0.5)
    assert ready == []
    comet.cancel(ref)


def test_long_tasks_spread_over_workers_short_ones_pipeline(shared):
    @comet.remote
    def long_task():
        time.sleep(0.5)
        return os.getpid()

    pids = comet.get([long_task.remote() for _ in range(4)], timeout=120)
    assert len(set(pids)) == 2  # both CPUs' workers took a share, none got all four

    @comet.remote
    def short_task(i):
        return i

    assert comet.get([short_task.remote(i) for i in range(2000)], timeout=120) == list(range(2000))


def test_recursive_cancel_stops_child_tasks(shared, tmp_path):
    started = tmp_path / "child-started"

    @comet.remote
    def child(path):
        open(path, "w").close()
        while True:
            time.sleep(0.01)

    @comet.remote
    def parent(path):
        return comet.get(child.remote(path))

    ref = parent.remote(str(started))
    assert wait_for_condition(started.exists, timeout=60)  # the child runs
    comet.cancel(ref, recursive=True)
    with pytest.raises(exceptions.TaskCancelledError):
        comet.get(ref, timeout=60)
    # The child was cancelled too: every CPU comes back.
    assert wait_for_condition(lambda: comet.available_resources().get("CPU", 0) == 2, timeout=60)
