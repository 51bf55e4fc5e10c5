"""comet.util.ActorPool against a real 2-CPU cluster.

Calls that must stay running wait on a "gate" file (with their own deadline);
each test opens its gate when it ends.
"""

from __future__ import annotations

import os
import threading
import time

import pytest

import comet
from comet.util import ActorPool

DEADLINE_S = 120


@comet.remote
class Worker:
    """Doubles values; ``gated`` calls wait until a file exists."""

    def __init__(self, tag=""):
        self.tag = tag
        self.lock = threading.Lock()
        self.running = 0
        self.most_running = 0

    def double(self, x, delay=0.0):
        with self.lock:
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        time.sleep(delay)
        with self.lock:
            self.running -= 1
        return 2 * x

    def gated(self, x, path):
        deadline = time.monotonic() + DEADLINE_S
        while not os.path.exists(path) and time.monotonic() < deadline:
            time.sleep(0.01)
        return (self.tag, x)

    def tagged(self, x):
        return (self.tag, x)

    def fail(self, x):
        raise KeyError(f"no {x}")

    def concurrency(self):
        return self.most_running


@pytest.fixture
def gate(tmp_path):
    path = tmp_path / "gate"
    yield path
    path.touch()


def double(actor, value):
    return actor.double.remote(value)


def test_map_keeps_order_and_map_unordered_returns_everything(shared):
    pool = ActorPool([Worker.remote() for _ in range(2)])
    assert list(pool.map(double, range(100))) == [2 * x for x in range(100)]
    assert sorted(pool.map_unordered(double, range(100))) == [2 * x for x in range(100)]
    assert list(pool.map(double, [])) == []
    assert not pool.has_next()


def test_each_actor_runs_one_call_at_a_time(shared):
    actors = [Worker.options(max_concurrency=4).remote() for _ in range(2)]
    pool = ActorPool(actors)
    values = range(20)
    got = list(pool.map(lambda a, v: a.double.remote(v, 0.02), values))
    assert got == [2 * v for v in values]
    assert comet.get([a.concurrency.remote() for a in actors], timeout=DEADLINE_S) == [1, 1]


def test_submit_get_next_in_submission_order(shared):
    pool = ActorPool([Worker.remote() for _ in range(3)])
    delays = [0.3, 0.0, 0.1, 0.0, 0.2]
    for i, delay in enumerate(delays):
        pool.submit(lambda a, v: a.double.remote(*v), (i, delay))
    got = []
    while pool.has_next():
        got.append(pool.get_next(timeout=DEADLINE_S))
    assert got == [2 * i for i in range(len(delays))]
    with pytest.raises(StopIteration):
        pool.get_next()
    with pytest.raises(StopIteration):
        pool.get_next_unordered()


def test_get_next_timeout_and_ignore(shared, gate):
    pool = ActorPool([Worker.remote()])
    pool.submit(lambda a, v: a.gated.remote(v, str(gate)), 1)
    with pytest.raises(TimeoutError):
        pool.get_next(timeout=0.2)
    assert pool.has_next()  # still there after a plain timeout
    gate.touch()
    assert pool.get_next(timeout=DEADLINE_S) == ("", 1)

    gate.unlink()
    pool.submit(lambda a, v: a.gated.remote(v, str(gate)), 2)
    with pytest.raises(TimeoutError):
        pool.get_next(timeout=0.2, ignore_if_timedout=True)
    assert not pool.has_next()  # dropped
    assert pool.has_free()  # and its actor is back
    gate.touch()
    pool.submit(double, 21)  # queued behind the dropped call on the same actor
    assert pool.get_next(timeout=DEADLINE_S) == 42


def test_get_next_unordered_returns_what_finished(shared, gate):
    slow, fast = Worker.remote("slow"), Worker.remote("fast")
    pool = ActorPool([fast, slow])  # submit takes the last idle actor first
    pool.submit(lambda a, v: a.gated.remote(v, str(gate)), "blocked")
    pool.submit(lambda a, v: a.tagged.remote(v), "quick")
    assert pool.get_next_unordered(timeout=DEADLINE_S) == ("fast", "quick")
    with pytest.raises(TimeoutError):
        pool.get_next_unordered(timeout=0.2)
    gate.touch()
    assert pool.get_next_unordered(timeout=DEADLINE_S) == ("slow", "blocked")
    assert not pool.has_next()


def test_backlog_free_pop_and_push(shared):
    a, b = Worker.remote("a"), Worker.remote("b")
    pool = ActorPool([a, b])
    assert pool.has_free()
    pool.submit(double, 1)
    assert pool.has_free()
    pool.submit(double, 2)
    assert not pool.has_free() and pool.pop_idle() is None
    pool.submit(double, 3)  # waits for an actor
    with pytest.raises(ValueError):
        pool.push(a)  # busy: already in the pool
    assert [pool.get_next(timeout=DEADLINE_S) for _ in range(3)] == [2, 4, 6]
    assert pool.has_free()

    idle = pool.pop_idle()
    assert idle in (a, b)
    left = pool.pop_idle()
    assert {idle, left} == {a, b}
    assert pool.pop_idle() is None and not pool.has_free()
    pool.submit(double, 5)  # no actor: backlog
    assert not pool.has_next()
    pool.push(idle)  # takes the waiting call at once
    assert pool.has_next()
    assert pool.get_next(timeout=DEADLINE_S) == 10
    with pytest.raises(ValueError):
        pool.push(idle)  # idle in the pool


def test_errors_propagate_and_the_pool_goes_on(shared):
    pool = ActorPool([Worker.remote() for _ in range(2)])
    pool.submit(lambda a, v: a.fail.remote(v), "thing")
    pool.submit(double, 4)
    with pytest.raises(KeyError, match="no thing"):
        pool.get_next(timeout=DEADLINE_S)
    assert pool.get_next(timeout=DEADLINE_S) == 8
    results = pool.map(lambda a, v: a.fail.remote(v) if v == 3 else a.double.remote(v),
                       range(5))
    assert [next(results) for _ in range(3)] == [0, 2, 4]
    with pytest.raises(KeyError):
        next(results)
    with pytest.raises(StopIteration):
        next(results)  # a generator ends with its error, as in Ray...
    assert pool.get_next(timeout=DEADLINE_S) == 8  # ...but the results stay


def test_map_drops_results_not_taken(shared):
    pool = ActorPool([Worker.remote() for _ in range(2)])
    pool.submit(double, 100)
    assert list(pool.map(double, [1, 2])) == [2, 4]


def test_pool_of_handles_passed_to_a_task(shared):
    actors = [Worker.remote(str(i)) for i in range(2)]

    @comet.remote
    def run(handles):
        from comet.util import ActorPool

        return sorted(ActorPool(handles).map_unordered(lambda a, v: a.tagged.remote(v),
                                                      range(6)))

    got = comet.get(run.remote(actors), timeout=DEADLINE_S)
    assert sorted(v for _, v in got) == list(range(6))
    assert {t for t, _ in got} <= {"0", "1"}
