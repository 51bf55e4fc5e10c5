"""comet.util.queue.Queue against a real 2-CPU cluster: the driver, tasks and
actors sharing queues."""

from __future__ import annotations

import asyncio
import queue as stdlib_queue

import pytest

import comet
from comet import exceptions
from comet.util.queue import Empty, Full, Queue
from conftest import wait_for_condition

DEADLINE_S = 120


@pytest.fixture
def q(shared):
    created = Queue()
    yield created
    created.shutdown(force=True)


def test_fifo_and_sizes(shared):
    q = Queue(maxsize=3)
    assert q.empty() and not q.full() and q.size() == q.qsize() == len(q) == 0
    for item in ("a", {"b": 1}, [3]):
        q.put(item)
    assert q.full() and not q.empty() and q.qsize() == 3
    assert [q.get(), q.get(), q.get()] == ["a", {"b": 1}, [3]]
    assert q.empty()
    q.shutdown()


def test_nowait_raises_empty_and_full(shared):
    q = Queue(maxsize=1)
    with pytest.raises(Empty):
        q.get_nowait()
    with pytest.raises(stdlib_queue.Empty):
        q.get(block=False)
    q.put_nowait(1)
    with pytest.raises(Full):
        q.put_nowait(2)
    with pytest.raises(stdlib_queue.Full):
        q.put(2, block=False)
    assert q.get_nowait() == 1
    q.shutdown()


def test_timeouts(shared):
    q = Queue(maxsize=1)
    with pytest.raises(Empty):
        q.get(timeout=0.2)
    q.put(1, timeout=DEADLINE_S)
    with pytest.raises(Full):
        q.put(2, timeout=0.2)
    with pytest.raises(ValueError):
        q.put(2, timeout=-1)
    with pytest.raises(ValueError):
        q.get(timeout=-1)
    assert q.get(timeout=DEADLINE_S) == 1
    assert q.empty()  # the timed-out put left nothing behind
    q.shutdown()


def test_batches_are_all_or_nothing(shared):
    q = Queue(maxsize=5)
    q.put_nowait_batch(range(3))
    with pytest.raises(Full):
        q.put_nowait_batch([3, 4, 5])
    assert q.qsize() == 3
    with pytest.raises(Empty):
        q.get_nowait_batch(4)
    assert q.qsize() == 3
    assert q.get_nowait_batch(2) == [0, 1]
    assert q.get_nowait_batch(0) == []
    assert q.get_nowait_batch(1) == [2]
    with pytest.raises(TypeError):
        q.put_nowait_batch(7)
    with pytest.raises(TypeError):
        q.get_nowait_batch("2")
    with pytest.raises(ValueError):
        q.get_nowait_batch(-1)
    q.shutdown()


def test_unbounded_batch_of_many_items(q):
    items = [(i, str(i)) for i in range(10_000)]
    q.put_nowait_batch(items)
    assert q.size() == 10_000
    assert q.get_nowait_batch(10_000) == items


def test_blocked_get_in_a_task_is_woken_by_a_put(q):
    @comet.remote
    def consume(queue, n):
        return [queue.get(timeout=DEADLINE_S) for _ in range(n)]

    got = consume.remote(q, 3)
    ready, _ = comet.wait([got], timeout=0.3)
    assert not ready  # nothing to take yet
    for item in (1, 2, 3):
        q.put(item)
    assert comet.get(got, timeout=DEADLINE_S) == [1, 2, 3]


def test_blocked_put_is_woken_by_a_get(shared):
    q = Queue(maxsize=1)

    @comet.remote
    def produce(queue, n):
        for i in range(n):
            queue.put(i, timeout=DEADLINE_S)
        return "done"

    done = produce.remote(q, 5)
    got = [q.get(timeout=DEADLINE_S) for _ in range(5)]
    assert got == list(range(5))
    assert comet.get(done, timeout=DEADLINE_S) == "done"
    q.shutdown()


def test_shared_by_tasks_and_actors(q):
    @comet.remote
    class Producer:
        def __init__(self, queue):
            self.queue = queue

        def run(self, start, n):
            for i in range(start, start + n):
                self.queue.put(i)
            return n

    @comet.remote
    def consumer(queue, n):
        return sorted(queue.get(timeout=DEADLINE_S) for _ in range(n))

    producers = [Producer.remote(q) for _ in range(2)]
    counts = [p.run.remote(100 * k, 20) for k, p in enumerate(producers)]
    taken = consumer.remote(q, 40)
    assert comet.get(counts, timeout=DEADLINE_S) == [20, 20]
    assert comet.get(taken, timeout=DEADLINE_S) == list(range(20)) + list(range(100, 120))
    assert q.empty()


def test_async_api(q):
    async def main():
        await q.put_async("x")
        await q.put_async("y", block=False)
        first = await q.get_async(timeout=DEADLINE_S)
        second = await q.get_async(block=False)
        with pytest.raises(Empty):
            await q.get_async(timeout=0.1)
        return first, second

    assert asyncio.run(main()) == ("x", "y")


def test_object_refs_are_resolved_unless_nested(q):
    ref = comet.put("payload")
    q.put(ref)
    assert q.get(timeout=DEADLINE_S) == "payload"
    q.put_nowait_batch([ref])
    nested = q.get(timeout=DEADLINE_S)
    assert isinstance(nested, comet.ObjectRef)
    assert comet.get(nested, timeout=DEADLINE_S) == "payload"


def _dies(handle) -> bool:
    """Whether a call to the actor fails because the actor is gone."""
    try:
        comet.get(handle.qsize.remote(), timeout=DEADLINE_S)
    except exceptions.RayActorError:
        return True
    return False


def test_actor_options_and_shutdown(shared):
    q = Queue(actor_options={"name": "util-queue-test", "num_cpus": 0})
    q.put(1)
    assert comet.get_actor("util-queue-test") == q.actor
    handle = q.actor
    q.shutdown(grace_period_s=DEADLINE_S)
    with pytest.raises(RuntimeError):
        q.put(2)
    q.shutdown()  # twice is fine
    # Killing is asynchronous: a call sent right after may still get through.
    assert wait_for_condition(lambda: _dies(handle), timeout=DEADLINE_S)

    forced = Queue()
    handle = forced.actor
    forced.put(1)
    forced.shutdown(force=True)
    assert wait_for_condition(lambda: _dies(handle), timeout=DEADLINE_S)
