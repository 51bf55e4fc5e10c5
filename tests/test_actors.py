"""Actors end to end against a real local cluster."""

from __future__ import annotations

import asyncio
import os
import threading

import pytest

import comet
from comet import exceptions
from conftest import wait_for_condition


@comet.remote
class Counter:
    def __init__(self, start=0):
        self.value = start
        self.pid = os.getpid()

    def incr(self, by=1):
        self.value += by
        return self.value

    def get(self):
        return self.value

    def getpid(self):
        return os.getpid()

    @comet.method(num_returns=2)
    def pair(self):
        return self.value, -self.value

    def crash(self):
        os._exit(1)

    def fail(self):
        raise KeyError("no such thing")


def test_calls_from_one_caller_run_in_order(shared):
    c = Counter.remote()
    refs = [c.incr.remote() for _ in range(1000)]
    assert comet.get(refs, timeout=120) == list(range(1, 1001))
    assert comet.get(c.get.remote()) == 1000
    a, b = c.pair.remote()
    assert comet.get([a, b]) == [1000, -1000]


def test_method_errors_keep_their_type(shared):
    c = Counter.remote(5)
    with pytest.raises(KeyError):
        comet.get(c.fail.remote())
    assert comet.get(c.incr.remote()) == 6  # the actor survives its methods' errors


def test_handles_passed_to_tasks_and_actors(shared):
    c = Counter.remote()

    @comet.remote
    def bump(handle, n):
        return comet.get([handle.incr.remote() for _ in range(n)])[-1]

    comet.get([bump.remote(c, 10) for _ in range(3)], timeout=120)
    assert comet.get(c.get.remote()) == 30


def test_threaded_actor_calls_overlap(shared):
    @comet.remote(max_concurrency=2)
    class Rendezvous:
        def __init__(self):
            self.barrier = threading.Barrier(2, timeout=60)

        def meet(self):
            self.barrier.wait()  # returns only if both calls run at once
            return threading.get_ident()

    r = Rendezvous.remote()
    idents = comet.get([r.meet.remote(), r.meet.remote()], timeout=120)
    assert len(set(idents)) == 2


def test_async_actor_calls_overlap(shared):
    @comet.remote
    class AsyncRendezvous:
        def __init__(self):
            self.event = None

        async def wait_for_signal(self):
            self.event = self.event or asyncio.Event()
            await asyncio.wait_for(self.event.wait(), 60)
            return "woken"

        async def signal(self):
            while self.event is None:
                await asyncio.sleep(0.01)
            self.event.set()
            return "sent"

    a = AsyncRendezvous.remote()
    waiter = a.wait_for_signal.remote()
    assert comet.get([a.signal.remote(), waiter], timeout=120) == ["sent", "woken"]


def test_named_actor_lookup_and_name_clash(shared):
    c = Counter.options(name="the-counter", namespace="tests").remote(7)
    assert comet.get(c.get.remote()) == 7
    same = comet.get_actor("the-counter", namespace="tests")
    assert comet.get(same.incr.remote()) == 8
    with pytest.raises(ValueError, match="already taken"):
        Counter.options(name="the-counter", namespace="tests").remote()
    again = Counter.options(name="the-counter", namespace="tests", get_if_exists=True).remote()
    assert comet.get(again.get.remote()) == 8
    with pytest.raises(ValueError, match="Failed to look up"):
        comet.get_actor("nobody-has-this-name")


OTHER_DRIVER = """
import sys
import comet
comet.init(address=sys.argv[1], namespace=sys.argv[2] if len(sys.argv) > 2 else None)
try:
    print("found", comet.get(comet.get_actor("job-private").get.remote()))
except ValueError:
    print("not found")
"""


def test_named_actors_live_in_their_jobs_namespace(shared):
    import subprocess
    import sys

    c = Counter.options(name="job-private").remote(5)
    namespace = comet.get_runtime_context().namespace
    assert namespace.startswith("anonymous-")

    @comet.remote
    def lookup():
        # A task of this job looks in the job's namespace.
        handle = comet.get_actor("job-private")
        return comet.get(handle.get.remote()), comet.get_runtime_context().namespace

    assert comet.get(lookup.remote(), timeout=60) == (5, namespace)
    gcs = comet.get_runtime_context().gcs_address
    # Another job has a namespace of its own, unless it names this one.
    for args, expected in (([], "not found"), ([namespace], "found 5")):
        out = subprocess.run([sys.executable, "-c", OTHER_DRIVER, gcs, *args],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == expected
    comet.kill(c)


def test_kill_fails_pending_calls_with_actor_died(shared):
    c = Counter.remote()
    assert comet.get(c.incr.remote()) == 1
    comet.kill(c)
    with pytest.raises(exceptions.ActorDiedError):
        comet.get(c.incr.remote(), timeout=60)


def test_restart_after_crash_rebuilds_state(shared):
    c = Counter.options(max_restarts=1).remote(100)
    first_pid = comet.get(c.getpid.remote())
    assert comet.get(c.incr.remote()) == 101
    with pytest.raises(exceptions.ActorDiedError):
        comet.get(c.crash.remote(), timeout=60)
    # The constructor ran again in a new process: state is rebuilt.
    assert wait_for_condition(lambda: _try(lambda: comet.get(c.get.remote(), timeout=30)) == 100,
                              timeout=60)
    assert comet.get(c.getpid.remote()) != first_pid
    with pytest.raises(exceptions.ActorDiedError):
        comet.get(c.crash.remote(), timeout=60)
    with pytest.raises(exceptions.ActorDiedError):
        comet.get(c.get.remote(), timeout=60)  # no restarts left


def _try(fn):
    try:
        return fn()
    except exceptions.RayError:
        return None


def test_max_task_retries_reruns_calls_in_flight(shared, tmp_path):
    marker = tmp_path / "crashed"

    @comet.remote(max_restarts=1, max_task_retries=1)
    class Flaky:
        def work(self, path):
            if not os.path.exists(path):
                open(path, "w").close()
                os._exit(1)
            return "done on retry"

    f = Flaky.remote()
    assert comet.get(f.work.remote(str(marker)), timeout=120) == "done on retry"


def test_constructor_error_kills_the_actor(shared):
    @comet.remote
    class Broken:
        def __init__(self):
            raise ValueError("cannot build")

        def ping(self):
            return "pong"

    b = Broken.remote()
    with pytest.raises(exceptions.ActorDiedError, match="cannot build"):
        comet.get(b.ping.remote(), timeout=60)


def test_graceful_terminate(shared):
    c = Counter.remote()
    refs = [c.incr.remote() for _ in range(5)]
    c.__ray_terminate__.remote()
    assert comet.get(refs, timeout=60) == [1, 2, 3, 4, 5]
    with pytest.raises(exceptions.ActorDiedError):
        comet.get(c.incr.remote(), timeout=60)


def test_bad_actor_usage_errors(shared):
    with pytest.raises(TypeError, match="remote"):
        Counter()
    c = Counter.remote()
    with pytest.raises(AttributeError, match="no method"):
        c.nonexistent.remote()
    with pytest.raises(TypeError):
        c.incr(1)
    with pytest.raises(ValueError):
        Counter.options(max_concurrency=0)
    with pytest.raises(ValueError):
        comet.kill("not a handle")


def test_concurrency_groups_run_side_by_side(shared):
    @comet.remote(concurrency_groups={"io": 1, "compute": 1})
    class Grouped:
        def __init__(self):
            self.barrier = threading.Barrier(2, timeout=60)

        @comet.method(concurrency_group="io")
        def read(self):
            self.barrier.wait()  # returns only if "compute" runs at the same time
            return "io"

        @comet.method(concurrency_group="compute")
        def crunch(self):
            self.barrier.wait()
            return "compute"

        def plain(self):
            return "default"

    g = Grouped.remote()
    assert comet.get([g.read.remote(), g.crunch.remote()], timeout=120) == ["io", "compute"]
    assert comet.get(g.plain.remote()) == "default"
    # A call can pick its group at the call site too.
    assert comet.get([g.plain.options(concurrency_group="io").remote(),
                      g.plain.options(concurrency_group="compute").remote()]) == ["default"] * 2
