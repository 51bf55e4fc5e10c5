"""`python -m comet.dashboard --gcs-address H:P [--host H] [--port P] --session-dir DIR`."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from aiohttp import web

from comet.dashboard.app import make_app

READY_PREFIX = "dashboard ready on"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m comet.dashboard",
                                     description="Comet's dashboard and job server.")
    parser.add_argument("--gcs-address", required=True, help="HOST:PORT of the GCS")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8265)
    parser.add_argument("--session-dir", required=True,
                        help="the head's session dir (job logs go to its logs/)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    os.makedirs(os.path.join(args.session_dir, "logs"), exist_ok=True)
    try:
        app = make_app(args.gcs_address, os.path.abspath(args.session_dir))
    except (ConnectionError, RuntimeError) as e:
        print(f"dashboard: cannot reach the GCS at {args.gcs_address}: {e}", file=sys.stderr)
        return 1
    logging.getLogger("comet.dashboard").info(
        "dashboard for %s on http://%s:%d", args.gcs_address, args.host, args.port)
    # aiohttp calls `print` once the socket is bound: that is the ready line
    # `comet start` waits for (a taken port fails before it).
    web.run_app(app, host=args.host, port=args.port, access_log=None,
                print=lambda _: print(f"{READY_PREFIX} http://{args.host}:{args.port}",
                                      flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
