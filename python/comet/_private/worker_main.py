"""Entry point of a worker process, started by the raylet:

    python -m comet._private.worker_main --node-id=HEX --worker-id=HEX \
        --raylet-address=HOST:PORT --gcs-address=HOST:PORT --plasma-socket=PATH \
        --session-dir=DIR --log-dir=DIR
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from comet import _raylet
from comet._private import executor, worker_context


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="comet worker")
    for name in ("node-id", "worker-id", "raylet-address", "gcs-address", "plasma-socket",
                 "session-dir", "log-dir"):
        parser.add_argument(f"--{name}", required=name not in ("session-dir", "log-dir"),
                            default="")
    parser.add_argument("--node-ip", default="127.0.0.1")
    parser.add_argument("--max-direct-call-object-size", type=int, default=100 * 1024)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    if args.log_dir:
        _raylet.init_logging("worker", args.log_dir, os.environ.get("COMET_log_level", "info"))
    parent = os.getppid()
    cw = _raylet.CoreWorker(
        is_driver=False, gcs_address=args.gcs_address, raylet_address=args.raylet_address,
        plasma_socket=args.plasma_socket, node_id=bytes.fromhex(args.node_id),
        worker_id=bytes.fromhex(args.worker_id), node_ip=args.node_ip,
        max_direct_call_object_size=args.max_direct_call_object_size)
    ctx = worker_context.get()
    ctx.core_worker = cw
    ctx.mode = "worker"
    ctx.gcs_address = args.gcs_address
    ctx.raylet_address = args.raylet_address
    ctx.node_id = bytes.fromhex(args.node_id)
    ctx.node_ip = args.node_ip
    ctx.session_dir = args.session_dir
    ctx.max_direct_call_object_size = args.max_direct_call_object_size

    stopping = threading.Event()

    def on_term(signum: int, frame: object) -> None:
        stopping.set()
        cw.stop_receiving()

    signal.signal(signal.SIGTERM, on_term)
    executor.install_interrupt_handler(cw, threading.main_thread())
    while not stopping.is_set():
        task = cw.next_task(1.0)
        if task is not None:
            executor.execute(cw, task)
            del task
        elif os.getppid() != parent:  # The raylet is gone.
            break
    cw.shutdown()
    # Daemon threads of gRPC may still hold the GIL's attention; leave at once.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
