"""comet.util.multiprocessing.Pool against a real 2-CPU cluster.

Functions sent to the pool are defined inside the tests so that they pickle by
value (workers cannot import this test module). Tasks that must stay running
wait on a "gate" file with their own deadline, and every test opens its gates
when it ends, so nothing is left occupying the cluster's CPUs.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import comet
from comet import exceptions
from comet.util.multiprocessing import Pool

DEADLINE_S = 120  # for any single result; generous for a loaded machine


class Gate:
    """A file; tasks calling ``gate.wait()`` block until it exists."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.wait = _make_waiter(str(path))

    def open(self) -> None:
        self.path.touch()


def _make_waiter(path: str):
    # A closure, so it pickles by value (workers cannot import this module).
    def wait(limit_s: float = DEADLINE_S) -> None:
        deadline = time.monotonic() + limit_s
        while not os.path.exists(path) and time.monotonic() < deadline:
            time.sleep(0.01)

    return wait


@pytest.fixture
def gate(tmp_path):
    g = Gate(tmp_path / "gate")
    yield g
    g.open()  # never leave tasks blocked


@pytest.fixture
def pool(shared):
    p = Pool()
    yield p
    p.terminate()
    p.join(timeout=DEADLINE_S)


def test_map_of_ten_thousand_items_equals_builtin_map(pool):
    def f(x):
        return x * x - 3

    items = range(10_000)
    assert pool.map(f, items) == list(map(f, items))
    assert pool.map(f, items, chunksize=999) == list(map(f, items))
    assert pool.map(f, (x for x in items)) == list(map(f, items))
    assert pool.map(f, []) == []
    assert pool.map(f, [7], chunksize=50) == [46]


def test_map_async_and_starmap(pool):
    got = []
    result = pool.map_async(str, range(100), chunksize=7, callback=got.append)
    assert result.get(timeout=DEADLINE_S) == [str(i) for i in range(100)]
    assert result.ready() and result.successful()
    assert got == [[str(i) for i in range(100)]]  # the callback ran before get returned

    def power(base, exp):
        return base ** exp

    pairs = [(b, e) for b in range(5) for e in range(4)]
    assert pool.starmap(power, pairs) == [b ** e for b, e in pairs]
    expected = [b ** e for b, e in pairs]
    assert pool.starmap_async(power, pairs, chunksize=3).get(DEADLINE_S) == expected
    assert pool.starmap(power, iter(pairs)) == [b ** e for b, e in pairs]


def test_imap_yields_in_input_order(pool):
    def slow_first(x):
        time.sleep(0.2 if x < 3 else 0)  # early items finish last
        return -x

    assert list(pool.imap(slow_first, range(20), chunksize=1)) == [-x for x in range(20)]
    assert list(pool.imap(slow_first, iter(range(50)))) == [-x for x in range(50)]
    assert list(pool.imap(slow_first, range(1000), chunksize=64)) == [-x for x in range(1000)]
    assert list(pool.imap(slow_first, [])) == []


def test_one_failing_item_fails_only_that_item_in_imap(pool):
    """Ray (and the standard library): in imap, an item that raises raises at
    that item; the other items of its chunk still come."""
    def invert(x):
        return 1 / x

    results = pool.imap(invert, [1, 2, 0, 4], chunksize=4)  # one chunk
    assert next(results) == 1.0 and next(results) == 0.5
    with pytest.raises(ZeroDivisionError):
        next(results)
    assert list(results) == [0.25]
    unordered = list(_each_outcome(pool.imap_unordered(invert, [0, 5, 0, 10], chunksize=2)))
    assert sorted(str(o) for o in unordered) == sorted(
        ["0.1", "0.2", "ZeroDivisionError", "ZeroDivisionError"])


def _each_outcome(iterator):
    """Every item's result, or its exception's class name, until the end."""
    while True:
        try:
            yield next(iterator)
        except StopIteration:
            return
        except Exception as error:  # noqa: BLE001 - the item's outcome
            yield type(error).__name__


def test_imap_unordered_yields_everything(pool):
    def inc(x):
        return x + 1

    assert sorted(pool.imap_unordered(inc, range(500), chunksize=7)) == list(range(1, 501))
    assert sorted(pool.imap_unordered(inc, (x for x in range(100)))) == list(range(1, 101))
    assert sorted(pool.imap_unordered(inc, range(10_000))) == list(range(1, 10_001))


def test_imap_next_times_out_then_continues(pool, gate):
    def gated(x, wait=gate.wait):
        if x == 0:
            wait()
        return x

    it = pool.imap(gated, range(3), chunksize=1)
    with pytest.raises(multiprocessing.TimeoutError):
        it.next(timeout=0.2)
    gate.open()
    assert [it.next(timeout=DEADLINE_S) for _ in range(3)] == [0, 1, 2]
    with pytest.raises(StopIteration):
        it.next(timeout=DEADLINE_S)


def test_apply_and_apply_async_callbacks(pool):
    def add(a, b=0):
        return a + b

    assert pool.apply(add, (1,), {"b": 2}) == 3
    assert pool.apply(add, (5,)) == 5

    got, errors = [], []
    ok = pool.apply_async(add, (20, 22), callback=got.append, error_callback=errors.append)
    assert ok.get(timeout=DEADLINE_S) == 42
    assert got == [42] and errors == []
    assert ok.successful()

    def fail():
        raise KeyError("missing")

    bad = pool.apply_async(fail, callback=got.append, error_callback=errors.append)
    with pytest.raises(KeyError, match="missing"):
        bad.get(timeout=DEADLINE_S)
    assert not bad.successful()
    assert got == [42] and len(errors) == 1 and isinstance(errors[0], KeyError)


def test_async_result_not_ready(pool, gate):
    def gated(wait=gate.wait):
        wait()
        return "done"

    result = pool.apply_async(gated)
    with pytest.raises(multiprocessing.TimeoutError):
        result.get(timeout=0.2)
    assert not result.ready()
    with pytest.raises(ValueError):
        result.successful()
    result.wait(timeout=0.01)
    gate.open()
    assert result.get(timeout=DEADLINE_S) == "done"


def test_exceptions_keep_their_type(pool):
    class Custom(Exception):
        pass

    def f(x):
        if x == 321:
            raise Custom(f"bad item {x}")
        return 1 / (x - 500)

    with pytest.raises(Custom, match="bad item 321"):
        pool.map(f, range(400))
    with pytest.raises(ZeroDivisionError):
        pool.map(f, range(450, 550), chunksize=10)
    with pytest.raises(ZeroDivisionError):
        pool.starmap(f, [(500,)])
    errors = []
    result = pool.map_async(f, [500], error_callback=errors.append)
    with pytest.raises(ZeroDivisionError):
        result.get(timeout=DEADLINE_S)
    assert len(errors) == 1 and isinstance(errors[0], ZeroDivisionError)

    # imap raises at the failing item and goes on after it.
    it = pool.imap(f, [499, 500, 501], chunksize=1)
    assert next(it) == -1.0
    with pytest.raises(ZeroDivisionError):
        next(it)
    assert next(it) == 1.0

    def bad_input():
        yield 1
        raise OSError("input broke")

    it = pool.imap(f, bad_input())
    assert next(it) == 1 / (1 - 500)
    with pytest.raises(OSError, match="input broke"):
        next(it)


def test_initializer_runs_once_per_worker_process(shared, tmp_path):
    log = tmp_path / "init.log"

    def init(tag, path=str(log)):
        os.environ["COMET_TEST_POOL_TAG"] = tag
        with open(path, "a") as f:
            f.write(f"{os.getpid()} {tag}\n")

    def probe(_):
        return os.getpid(), os.environ.get("COMET_TEST_POOL_TAG")

    def inits(tag):
        lines = log.read_text().split("\n") if log.exists() else []
        return [int(line.split()[0]) for line in lines if line.endswith(f" {tag}")]

    for tag in ("first", "second"):  # worker processes are shared by pools
        with Pool(initializer=init, initargs=(tag,)) as p:
            results = p.map(probe, range(200), chunksize=1)
        assert {t for _, t in results} == {tag}
        pids = inits(tag)
        assert len(pids) == len(set(pids)), f"initializer ran twice in a process: {pids}"
        assert {pid for pid, _ in results} <= set(pids)


def test_processes_bounds_concurrency(shared, tmp_path):
    lock = str(tmp_path / "busy")

    def exclusive(x):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL)
        except FileExistsError:
            return "overlap"
        time.sleep(0.01)
        os.close(fd)
        os.unlink(lock)
        return "alone"

    with Pool(processes=1) as p:
        assert set(p.map(exclusive, range(40), chunksize=1)) == {"alone"}


def test_close_join_and_use_after_close(shared, gate):
    def gated(x, wait=gate.wait):
        wait()
        return x

    p = Pool(2)
    with pytest.raises(ValueError):
        p.join()  # still running
    pending = p.map_async(gated, range(10), chunksize=1)
    p.close()
    for use in (lambda: p.map(abs, [1]), lambda: p.apply_async(abs, (1,)),
                lambda: p.imap(abs, [1]), lambda: p.starmap(pow, [(1, 1)])):
        with pytest.raises(ValueError, match="Pool not running"):
            use()
    assert not pending.ready()  # close() keeps the submitted work
    gate.open()
    p.join(timeout=DEADLINE_S)
    assert pending.ready() and pending.get(timeout=0) == list(range(10))


def test_terminate_cancels_outstanding_work(shared, gate):
    def gated(x, wait=gate.wait):
        wait()
        return x

    p = Pool(2)
    result = p.map_async(gated, range(10), chunksize=1)
    single = p.apply_async(gated, (1,))
    p.terminate()
    with pytest.raises(exceptions.TaskCancelledError):
        result.get(timeout=DEADLINE_S)
    with pytest.raises(exceptions.TaskCancelledError):
        single.get(timeout=DEADLINE_S)
    p.join(timeout=DEADLINE_S)
    with pytest.raises(ValueError):
        p.map(abs, [1])
    # The cluster is free again: a new pool runs at once.
    gate.open()
    with Pool(2) as fresh:
        assert fresh.map(abs, [-1, -2]) == [1, 2]


def test_context_manager_terminates(shared):
    with Pool(2) as p:
        assert p.map(abs, range(-3, 0)) == [3, 2, 1]
    with pytest.raises(ValueError):
        p.apply(abs, (1,))
    with pytest.raises(ValueError):
        with p:
            pass


def test_argument_checks(shared):
    with pytest.raises(ValueError):
        Pool(0)
    with pytest.raises(TypeError):
        Pool(initializer=42)
    with pytest.raises(ValueError):
        Pool(maxtasksperchild=0)
    with Pool(1) as p:
        with pytest.raises(ValueError):
            p.map(abs, [1], chunksize=0)
        with pytest.raises(NotImplementedError):
            import pickle
            pickle.dumps(p)


def test_pool_inside_a_task(shared):
    @comet.remote
    def outer(n):
        with Pool(1) as p:
            return p.map(lambda x: x * 3, range(n))

    assert comet.get(outer.remote(50), timeout=DEADLINE_S) == [x * 3 for x in range(50)]


def test_pool_connects_when_not_initialized(tmp_path):
    # In a fresh interpreter, so that this module's shared cluster is not in the way.
    script = (
        "import comet\n"
        "from comet.util.multiprocessing import Pool\n"
        "assert not comet.is_initialized()\n"
        "with Pool(1) as p:\n"
        "    assert comet.is_initialized()\n"
        "    print(p.map(abs, [-4, 5]))\n"
    )
    env = dict(os.environ, COMET_TEMP_DIR=str(tmp_path / "comet"))
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=DEADLINE_S)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("[4, 5]")


def test_joblib_backend_runs_parallel_on_comet(shared):
    """Ray: ray.util.joblib.register_ray() makes joblib.Parallel run on the
    cluster (Comet: register_comet(), and register_ray() for Ray's name)."""
    joblib = pytest.importorskip("joblib")
    from comet.util.joblib import register_comet, register_ray

    register_comet()
    register_ray()

    def where(i):
        return i * i, comet.get_runtime_context().get_worker_id()

    driver = comet.get_runtime_context().get_worker_id()
    for name in ("comet", "ray"):
        with joblib.parallel_backend(name):
            out = joblib.Parallel(n_jobs=2)(joblib.delayed(where)(i) for i in range(20))
        assert [square for square, _ in out] == [i * i for i in range(20)]
        assert all(worker != driver for _, worker in out)  # ran in Comet workers

    def boom(i):
        if i == 3:
            raise KeyError("three")
        return i

    with joblib.parallel_backend("comet"), pytest.raises(KeyError, match="three"):
        joblib.Parallel(n_jobs=-1)(joblib.delayed(boom)(i) for i in range(6))


def test_processes_are_distinct_and_replaced_after_maxtasksperchild(shared):
    """Ray: Pool(processes=N) has N worker processes (actors) of its own;
    maxtasksperchild replaces a process after that many chunks; asking for
    more processes than the cluster has CPUs raises ValueError."""
    def pid(_):
        time.sleep(0.01)
        return os.getpid()

    with Pool(processes=2) as p:
        pids = set(p.map(pid, range(40), chunksize=1))
    assert len(pids) == 2

    with Pool(processes=1, maxtasksperchild=2) as p:
        order = p.map(pid, range(6), chunksize=1)
    assert len(set(order)) == 3  # a fresh process every 2 chunks
    assert order[0] == order[1] != order[2] == order[3] != order[4] == order[5]

    with pytest.raises(ValueError, match="only 2 CPUs"):
        Pool(processes=3)
