"""Scope-based actor lifetime: an actor ends when the last handle of the
process that created it is gone (after its calls are answered), unless it is
detached, named, or a handle was passed on."""

from __future__ import annotations

import gc
import os

import psutil
import pytest

import comet
from comet.util import state
from conftest import wait_for_condition


@comet.remote(num_cpus=1)
class Worker:
    def pid(self):
        return os.getpid()

    def slow_echo(self, value):
        import time
        time.sleep(0.3)
        return value


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def actor_row(actor_id_hex: str) -> dict:
    return next(a for a in state.list_actors() if a["actor_id"] == actor_id_hex)


@pytest.mark.timeout(120)
def test_last_handle_gone_ends_the_actor(shared):
    actor = Worker.remote()
    actor_id = actor._actor_id_hex
    pid = comet.get(actor.pid.remote(), timeout=60)
    del actor
    gc.collect()
    assert wait_for_condition(lambda: gone(pid), timeout=30)
    assert wait_for_condition(lambda: actor_row(actor_id)["state"] == "DEAD", timeout=30)
    assert "all references to the actor were removed" in actor_row(actor_id)["death_cause"]


@pytest.mark.timeout(120)
def test_calls_made_before_the_handle_went_still_run(shared):
    ref = Worker.remote().slow_echo.remote("still answered")
    gc.collect()
    assert comet.get(ref, timeout=60) == "still answered"


@pytest.mark.timeout(180)
def test_many_short_lived_actors_do_not_exhaust_the_cluster(shared):
    # Each holds one of the cluster's two CPUs: without collection the third
    # would wait forever.
    pids = []
    for i in range(6):
        actor = Worker.remote()
        pids.append(comet.get(actor.pid.remote(), timeout=60))
        assert comet.get(actor.slow_echo.remote(i), timeout=60) == i
    del actor
    assert wait_for_condition(lambda: all(gone(p) for p in pids), timeout=30)


@pytest.mark.timeout(120)
def test_detached_named_and_passed_on_actors_stay(shared):
    detached = Worker.options(lifetime="detached", name="lifetime-detached").remote()
    named = Worker.options(name="lifetime-named", num_cpus=0).remote()
    passed = Worker.options(num_cpus=0).remote()

    @comet.remote
    def use(handle):
        return comet.get(handle.pid.remote())

    pids = [comet.get(a.pid.remote(), timeout=60) for a in (detached, named)]
    pids.append(comet.get(use.remote(passed), timeout=60))
    ids = [a._actor_id_hex for a in (detached, named, passed)]
    del detached, named, passed
    gc.collect()
    # Give a wrong collection time to happen, then check nothing ended.
    comet.get(Worker.options(num_cpus=0).remote().slow_echo.remote(None), timeout=60)
    assert all(not gone(pid) for pid in pids)
    assert all(actor_row(i)["state"] == "ALIVE" for i in ids)
    for name in ("lifetime-detached", "lifetime-named"):
        comet.kill(comet.get_actor(name))
    comet.kill(comet.actor.ActorHandle(bytes.fromhex(ids[2]), {}, "Worker"))
