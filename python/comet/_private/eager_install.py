"""``runtime_env={"config": {"eager_install": True}}`` (Ray's default): the
job's runtime_env is set up on every alive node when ``init()`` returns,
not when the job's first task reaches each node.

Setting an env up is what a worker does when it starts in it (unpacking
``working_dir`` and ``py_modules``, making the ``pip`` virtualenv), so the
driver sends one zero-CPU task pinned to each node; the worker it starts
stays in that node's pool for the job's later tasks. ``init()`` does not
wait for them; a node whose setup fails logs a warning at the driver (the
job's tasks there fail with the same RuntimeEnvSetupError).
"""

from __future__ import annotations

import logging
import os
from typing import Any

logger = logging.getLogger("comet")

# The fields whose setup takes time; env_vars alone needs none.
_SETUP_FIELDS = ("working_dir", "py_modules", "pip")


def wanted(env: dict[str, Any] | None) -> bool:
    """Whether `env` (a job's) is to be set up eagerly: it has something to
    set up and its config does not say eager_install=False."""
    if not env or not any(env.get(f) for f in _SETUP_FIELDS):
        return False
    return bool((env.get("config") or {}).get("eager_install", True))


def _ready() -> int:
    """Runs in a worker that has set the job's env up."""
    return os.getpid()


def start(env: dict[str, Any] | None) -> None:
    """Sends the setup task to every alive node when `env` wants it."""
    if not wanted(env):
        return
    import comet
    from comet.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    ready = comet.remote(num_cpus=0, max_retries=0)(_ready)
    for node in comet.nodes():
        if not node["Alive"]:
            continue
        node_id = node["NodeID"]
        ref = ready.options(
            name="comet.eager_install",
            scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False)).remote()
        ref.future().add_done_callback(lambda f, n=node_id: _report(f, n))


def _report(done: Any, node_id: str) -> None:
    """A setup failure is the user's to see; anything else (the driver shut
    down, the node died first) is not about the env."""
    from comet import exceptions

    error = done.exception()
    if isinstance(error, exceptions.RuntimeEnvSetupError):
        logger.warning("eager_install: setting the job's runtime_env up on node %s failed "
                       "(its tasks there will fail the same way): %s", node_id, error)
    elif error is not None:
        logger.debug("eager_install on node %s did not finish: %s", node_id, error)
