"""The cluster token, as Python sees it.

Every Comet process finds the same credentials the same way (the lookup is the
C++ one in ``src/comet/rpc/cluster_auth.h``, reached through ``_raylet``):

1. ``COMET_AUTH_TOKEN``: the token itself;
2. ``COMET_AUTH_TOKEN_PATH``: a file that holds it;
3. ``~/.comet/auth_token``.

A head (``comet start --head``) and a local ``comet.init()`` create the file
when no token exists; every other process only reads. ``COMET_AUTH_MODE=
disabled`` (``--auth-mode=disabled``) turns the check off, for loopback only.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
import sys
from typing import Any

MODE_ENV = "COMET_AUTH_MODE"
AUTH_MODES = ("token", "disabled")
DISABLED_WARNING = ("WARNING: cluster auth is disabled (--auth-mode=disabled): any process "
                    "on this machine can run code as this user through Comet's ports.")


def load(create_if_missing: bool = False) -> dict[str, Any]:
    """This process's credentials: ``{"mode", "token", "source", "tls"}``.

    Raises :class:`comet.exceptions.AuthenticationError` when no token is
    found (and ``create_if_missing`` is false), when the token file is
    readable by others, or when a setting is malformed."""
    from comet import _raylet

    return _raylet.load_cluster_auth(create_if_missing)


def ensure_token() -> dict[str, Any]:
    """Like :func:`load`, but creates ``~/.comet/auth_token`` (or the file
    ``COMET_AUTH_TOKEN_PATH`` names) when no token exists: for a new cluster."""
    return load(create_if_missing=True)


def auth_mode() -> str:
    """``"token"`` (the default) or ``"disabled"``, from ``COMET_AUTH_MODE``."""
    mode = os.environ.get(MODE_ENV, "").strip().lower() or "token"
    if mode not in AUTH_MODES:
        raise ValueError(f"{MODE_ENV}={mode!r}: expected 'token' (the default) or 'disabled'")
    return mode


def set_auth_mode(mode: str | None) -> None:
    """Applies ``--auth-mode`` to this process and the daemons it starts;
    warns on stderr when auth is disabled."""
    if mode is not None:
        if mode not in AUTH_MODES:
            raise ValueError(f"--auth-mode must be 'token' or 'disabled', got {mode!r}")
        os.environ[MODE_ENV] = mode
    if auth_mode() == "disabled":
        print(DISABLED_WARNING, file=sys.stderr)


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IPv4/IPv6 addresses."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_listen_host(host: str, what: str) -> None:
    """Raises ValueError naming ``what`` when auth is disabled and ``host``
    is not loopback: without the token, Comet listens on loopback only."""
    if auth_mode() == "disabled" and not is_loopback(host):
        raise ValueError(f"{what} {host!r} is not a loopback address, and cluster auth is "
                         "disabled (--auth-mode=disabled / COMET_AUTH_MODE=disabled): "
                         "turn auth back on to listen beyond this machine")


def bearer_headers() -> dict[str, str]:
    """``{"Authorization": "Bearer <token>"}`` for HTTP calls to the
    dashboard, the job server and /metrics; ``{}`` when auth is disabled."""
    creds = load()
    if creds["mode"] == "disabled":
        return {}
    return {"Authorization": f"Bearer {creds['token']}"}


TLS_ENV = ("COMET_TLS_CA", "COMET_TLS_CERT", "COMET_TLS_KEY")


def tls_files() -> tuple[str, str, str] | None:
    """(CA, certificate, key) paths from COMET_TLS_*, or None when TLS is off;
    ValueError unless all three or none are set."""
    values = tuple(os.environ.get(name, "") for name in TLS_ENV)
    if not any(values):
        return None
    if not all(values):
        raise ValueError("TLS needs all three of COMET_TLS_CA, COMET_TLS_CERT and COMET_TLS_KEY")
    return values  # type: ignore[return-value]


def server_ssl_context() -> ssl.SSLContext | None:
    """HTTPS for the dashboard when TLS is on: this node's certificate and key."""
    files = tls_files()
    if files is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(files[1], files[2])
    return context


def client_ssl_context() -> ssl.SSLContext | None:
    """For HTTPS to the dashboard: trusts the cluster's CA when TLS is on, else
    the system's CAs (None)."""
    files = tls_files()
    if files is None:
        return None
    return ssl.create_default_context(cafile=files[0])
