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
