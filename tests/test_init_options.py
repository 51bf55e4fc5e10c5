"""init() options: GPUs, custom resources, re-init; each test starts its own cluster."""

from __future__ import annotations

import os
import time

import pytest

import comet


def test_gpu_assignment(comet_start):
    comet_start(num_cpus=4, num_gpus=2)

    @comet.remote(num_gpus=1)
    def one_gpu():
        return comet.get_gpu_ids(), os.environ.get("CUDA_VISIBLE_DEVICES")

    @comet.remote(num_gpus=0.5)
    def half_gpu():
        time.sleep(0.5)
        return comet.get_gpu_ids()

    ids, env = comet.get(one_gpu.remote())
    assert len(ids) == 1 and env == str(ids[0])
    halves = comet.get([half_gpu.remote() for _ in range(2)])
    assert all(len(h) == 1 for h in halves)
    assert comet.cluster_resources()["GPU"] == 2


def test_gpu_ids_inside_placement_group_bundles(comet_start):
    from comet.util.placement_group import placement_group, remove_placement_group
    from comet.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    comet_start(num_cpus=4, num_gpus=4)

    @comet.remote(num_gpus=1)
    def hold_gpu():
        time.sleep(1.0)
        return comet.get_gpu_ids()

    outside = hold_gpu.remote()  # One GPU in use outside the group.
    group = placement_group([{"GPU": 1, "CPU": 1}, {"GPU": 2, "CPU": 1}])
    assert group.wait(60)

    @comet.remote(num_gpus=1, num_cpus=0)
    class Trainer:
        def devices(self):
            return comet.get_gpu_ids(), os.environ.get("CUDA_VISIBLE_DEVICES")

    in_bundle = lambda i: PlacementGroupSchedulingStrategy(group, placement_group_bundle_index=i)  # noqa: E731
    trainers = [Trainer.options(scheduling_strategy=in_bundle(i)).remote() for i in (0, 1, 1)]
    seen = comet.get([t.devices.remote() for t in trainers], timeout=60)
    ids = [got for got, _ in seen]
    # Each trainer has a GPU of its own, its bundle's, and its environment says so.
    assert all(len(got) == 1 for got in ids)
    assert len({got[0] for got in ids}) == 3
    assert all(env == str(got[0]) for got, env in seen)
    taken_outside = comet.get(outside, timeout=60)
    assert not set(taken_outside) & {got[0] for got in ids}

    @comet.remote(num_gpus=1, num_cpus=0)
    def whole_group():
        return comet.get_gpu_ids()

    # All three bundle GPUs are held: a task on the whole group waits until one is free.
    pending = whole_group.options(
        scheduling_strategy=PlacementGroupSchedulingStrategy(group)).remote()
    ready, _ = comet.wait([pending], timeout=1)
    assert not ready
    freed = ids[0][0]
    comet.kill(trainers[0])
    assert comet.get(pending, timeout=60) == [freed]
    remove_placement_group(group)


def test_custom_resources_and_reinit(comet_start):
    comet_start(num_cpus=1, resources={"special": 2})

    @comet.remote(resources={"special": 1}, num_cpus=0)
    def uses_special():
        return "ok"

    assert comet.get([uses_special.remote() for _ in range(4)]) == ["ok"] * 4
    with pytest.raises(RuntimeError, match="twice"):
        comet.init()
    comet.shutdown()
    assert not comet.is_initialized()
    comet_start(num_cpus=1)
    assert comet.get(comet.put("again")) == "again"
