"""`python -m comet.dashboard --gcs-address H:P [--host H] [--port P] --session-dir DIR
[--metrics-auth token|none]`.

The cluster token comes from this process's environment, found as every Comet
process finds it (``comet._private.auth.load()``)."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from aiohttp import web

from comet._private import auth
from comet.dashboard.app import make_app
from comet.dashboard.auth_middleware import HttpAuthPolicy
from comet.exceptions import AuthenticationError

READY_PREFIX = "dashboard ready on"
METRICS_AUTH_ENV = "COMET_METRICS_AUTH"
METRICS_AUTH_CHOICES = ("token", "none")


def load_policy(metrics_auth: str) -> HttpAuthPolicy:
    """The HTTP auth policy from this process's cluster credentials; raises
    AuthenticationError when auth is on and no token is found."""
    if metrics_auth not in METRICS_AUTH_CHOICES:
        raise ValueError(f"--metrics-auth (or ${METRICS_AUTH_ENV}) must be 'token' or "
                         f"'none', got {metrics_auth!r}")
    creds = auth.load()
    token = creds["token"] if creds["mode"] == "token" else None
    return HttpAuthPolicy(token=token, metrics_open=metrics_auth == "none")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m comet.dashboard",
                                     description="Comet's dashboard and job server.")
    parser.add_argument("--gcs-address", required=True, help="HOST:PORT of the GCS")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8265)
    parser.add_argument("--session-dir", required=True,
                        help="the head's session dir (job logs go to its logs/)")
    parser.add_argument("--metrics-auth", default=os.environ.get(METRICS_AUTH_ENV, "token"),
                        help="'token' (GET /metrics needs the bearer token, the default) or "
                             f"'none' (GET /metrics alone is open) [default: ${METRICS_AUTH_ENV}"
                             " or token]")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    os.makedirs(os.path.join(args.session_dir, "logs"), exist_ok=True)
    try:
        policy = load_policy(args.metrics_auth.strip().lower())
        auth.check_listen_host(args.host, "--host")
        ssl_context = auth.server_ssl_context()  # HTTPS when the cluster has TLS
    except (AuthenticationError, ValueError, OSError) as e:
        print(f"dashboard: {e}", file=sys.stderr)
        return 1
    try:
        app = make_app(args.gcs_address, os.path.abspath(args.session_dir), policy)
    except (ConnectionError, RuntimeError) as e:
        print(f"dashboard: cannot reach the GCS at {args.gcs_address}: {e}", file=sys.stderr)
        return 1
    url = f"{'https' if ssl_context else 'http'}://{args.host}:{args.port}"
    logging.getLogger("comet.dashboard").info("dashboard for %s on %s", args.gcs_address, url)
    # aiohttp calls `print` once the socket is bound: that is the ready line
    # `comet start` waits for (a taken port fails before it).
    web.run_app(app, host=args.host, port=args.port, access_log=None, ssl_context=ssl_context,
                print=lambda _: print(f"{READY_PREFIX} {url}", flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
