"""Entry point of a worker process, started by the raylet:

    python -m comet._private.worker_main --node-id=HEX --worker-id=HEX \
        --raylet-address=HOST:PORT --gcs-address=HOST:PORT --plasma-socket=PATH \
        --session-dir=DIR --log-dir=DIR
"""

from __future__ import annotations

import argparse
import atexit
import asyncio
import json
import os
import signal
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from comet import _raylet
from comet._private import executor, runtime_env, worker_context
from comet._private import worker as comet_worker


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="comet worker")
    for name in ("node-id", "worker-id", "raylet-address", "gcs-address", "plasma-socket",
                 "session-dir", "log-dir"):
        parser.add_argument(f"--{name}", required=name not in ("session-dir", "log-dir"),
                            default="")
    parser.add_argument("--node-ip", default="127.0.0.1")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    # Our stdout is a log file that the raylet streams to the driver: each
    # line goes out when it is printed, not when a block fills.
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)
    # The raylet puts its config table in our environment (COMET_<name>).
    config = _raylet.config()
    if args.log_dir:
        _raylet.init_logging("worker", args.log_dir, config["log_level"])
    _set_up_runtime_env(args)
    parent = os.getppid()
    max_inline = config["max_direct_call_object_size"]
    cw = _raylet.CoreWorker(
        is_driver=False, gcs_address=args.gcs_address, raylet_address=args.raylet_address,
        plasma_socket=args.plasma_socket, node_id=bytes.fromhex(args.node_id),
        worker_id=bytes.fromhex(args.worker_id), node_ip=args.node_ip, config=config)
    ctx = worker_context.get()
    ctx.core_worker = cw
    ctx.mode = "worker"
    ctx.gcs_address = args.gcs_address
    ctx.raylet_address = args.raylet_address
    ctx.node_id = bytes.fromhex(args.node_id)
    ctx.node_ip = args.node_ip
    ctx.session_dir = args.session_dir
    ctx.max_direct_call_object_size = max_inline
    ctx.config = config

    stopping = threading.Event()

    def on_term(signum: int, frame: object) -> None:
        stopping.set()
        cw.stop_receiving()

    signal.signal(signal.SIGTERM, on_term)
    executor.install_interrupt_handler(cw, threading.main_thread())
    _serve(cw, stopping, parent)
    if ctx.actor_instance is not None:
        # An actor that ends gracefully (exit_actor(), __ray_terminate__, the
        # raylet's SIGTERM) runs its atexit handlers, as in Ray, while it can
        # still use the cluster; the driver-side shutdown hook is not for here.
        atexit.unregister(comet_worker.shutdown)
        atexit._run_exitfuncs()
    cw.shutdown()
    # gRPC's threads may still be busy; leave at once.
    os._exit(0)


def _set_up_runtime_env(args: argparse.Namespace) -> None:
    """Applies the runtime_env the raylet started this worker for; on
    failure tells the raylet (its leases fail with RuntimeEnvSetupError
    carrying the error) and exits."""
    env = runtime_env.current()
    if not env:
        return
    timeout = runtime_env.setup_timeout_s(env)

    def too_slow(signum: int, frame: object) -> None:
        raise TimeoutError(f"runtime_env setup took longer than {timeout:g} s "
                           f"(config setup_timeout_seconds)")

    try:
        if timeout is not None:
            signal.signal(signal.SIGALRM, too_slow)
            signal.alarm(max(1, int(timeout)))
        python = runtime_env.pip_interpreter(env, args.session_dir, timeout)
        if python is not None:
            # The env's virtualenv: this process becomes its interpreter
            # (same pid, same log files) and sets the rest up there.
            signal.alarm(0)
            sys.stdout.flush()
            sys.stderr.flush()
            os.execv(python, [python, "-m", "comet._private.worker_main", *sys.argv[1:]])
        runtime_env.apply_in_worker(env, args.gcs_address, args.session_dir)
    except BaseException as error:  # noqa: BLE001 - reported, then this worker exits
        import traceback

        message = (f"Failed to set up runtime_env {json.dumps(env)} on node {args.node_ip}: "
                   f"{type(error).__name__}: {error}")
        print(message, file=sys.stderr)
        traceback.print_exc()
        try:
            _raylet.report_runtime_env_setup_failure(args.raylet_address,
                                                     bytes.fromhex(args.worker_id), message)
        finally:
            os._exit(1)
    finally:
        if timeout is not None:
            signal.alarm(0)


def _serve(cw: _raylet.CoreWorker, stopping: threading.Event, parent: int) -> None:
    """Takes tasks from the core worker and runs them until told to stop."""
    ctx = worker_context.get()
    while not stopping.is_set() and not cw.receiving_stopped():
        task = cw.next_task(1.0)
        if task is None:
            if os.getppid() != parent:  # The raylet is gone.
                stopping.set()
            continue
        if task.task_type == executor.ACTOR_CREATION_TASK and \
                task.actor_creation.get("is_asyncio"):
            # An async actor runs everything on its event loop's thread, its
            # constructor and sync methods included, as in Ray.
            loop = _start_actor_loop(task.actor_creation)
            asyncio.run_coroutine_threadsafe(executor.execute_async(cw, task, None), loop).result()
            del task
            continue
        if ctx.actor_loop is not None and task.task_type == executor.ACTOR_TASK:
            semaphore = ctx.actor_semaphores.get(task.concurrency_group, ctx.actor_semaphore)
            asyncio.run_coroutine_threadsafe(
                executor.execute_async(cw, task, semaphore), ctx.actor_loop)
            continue
        if ctx.actor_pools and task.task_type == executor.ACTOR_TASK:
            pool = ctx.actor_pools.get(task.concurrency_group, ctx.actor_pools[""])
            pool.submit(executor.execute, cw, task)
            continue
        is_creation = task.task_type == executor.ACTOR_CREATION_TASK
        executor.execute(cw, task)
        del task
        if is_creation and ctx.actor_instance is not None:
            _start_actor_concurrency(cw, stopping, parent)


def _start_actor_loop(options: dict) -> asyncio.AbstractEventLoop:
    """Starts the event loop thread of an async actor: max_concurrency async
    calls at once, and as many per concurrency group as it says."""
    ctx = worker_context.get()
    limit = max(1, int(options.get("max_concurrency", 1)))
    groups = dict(options.get("concurrency_groups") or {})
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def run_loop() -> None:
        asyncio.set_event_loop(loop)
        ctx.actor_semaphore = asyncio.Semaphore(limit)
        ctx.actor_semaphores = {name: asyncio.Semaphore(max(1, int(n)))
                                for name, n in groups.items()}
        ready.set()
        loop.run_forever()

    threading.Thread(target=run_loop, name="comet-actor-loop", daemon=True).start()
    ready.wait()
    ctx.actor_loop = loop
    return loop


def _start_actor_concurrency(cw: _raylet.CoreWorker, stopping: threading.Event,
                             parent: int) -> None:
    """A threaded actor gets more executor threads (or a pool per group)."""
    ctx = worker_context.get()
    options = ctx.actor_options or {}
    limit = max(1, int(options.get("max_concurrency", 1)))
    groups = dict(options.get("concurrency_groups") or {})
    if groups:
        # Each concurrency group has threads of its own; other methods share
        # the default group of max_concurrency threads.
        pools = {name: ThreadPoolExecutor(max(1, int(n)), thread_name_prefix=f"comet-{name}")
                 for name, n in groups.items()}
        pools[""] = ThreadPoolExecutor(limit, thread_name_prefix="comet-actor")
        ctx.actor_pools = pools
        return
    for i in range(limit - 1):
        threading.Thread(target=_serve, args=(cw, stopping, parent),
                         name=f"comet-actor-{i}", daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
