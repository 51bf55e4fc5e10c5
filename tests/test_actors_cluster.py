"""Actors across jobs and their resources; each test starts its own cluster."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import comet
from conftest import wait_for_condition


def test_actor_resources_held_for_life(comet_start):
    comet_start(num_cpus=2)

    @comet.remote(num_cpus=1)
    class Holder:
        def ping(self):
            return "ok"

    h = Holder.remote()
    assert comet.get(h.ping.remote()) == "ok"
    assert wait_for_condition(lambda: comet.available_resources().get("CPU", 0) == 1)
    comet.kill(h)
    assert wait_for_condition(lambda: comet.available_resources().get("CPU", 0) == 2)


def test_detached_actor_outlives_its_driver(comet_start):
    info = comet_start(num_cpus=2)
    script = textwrap.dedent(
        f"""
        import comet
        comet.init(address={info['gcs_address']!r})

        @comet.remote
        class Keeper:
            def __init__(self):
                self.items = []
            def add(self, x):
                self.items.append(x)
                return len(self.items)

        k = Keeper.options(name="keeper", namespace="jobs", lifetime="detached").remote()
        assert comet.get(k.add.remote("from job 1")) == 1
        t = Keeper.options(name="temporary", namespace="jobs").remote()
        comet.get(t.add.remote(1))
        comet.shutdown()
        """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120, cwd="/tmp")
    keeper = comet.get_actor("keeper", namespace="jobs")
    assert comet.get(keeper.add.remote("from job 2")) == 2
    # The non-detached one died with its job.
    assert wait_for_condition(lambda: _lookup("temporary") is None, timeout=60)


def _lookup(name):
    try:
        return comet.get_actor(name, namespace="jobs")
    except ValueError:
        return None
