"""Who may call the dashboard: the cross-site check, the cluster token (or the
session cookie the login page sets) and the JSON rule, in one middleware that
runs before every other one and every handler.

For each request, in this order:

1. A mutating method (POST, PUT, PATCH, DELETE) sent by a page of another
   site is refused with 403, whatever credentials it carries: when
   ``Sec-Fetch-Site`` says anything but ``same-origin`` or ``none``, or when an
   ``Origin`` header names another host:port than the request's ``Host``.
   With auth disabled, a ``Host`` that is not a loopback name is refused too
   (a DNS-rebinding page would otherwise look same-origin).
2. Unless auth is disabled, the request needs ``Authorization: Bearer <token>``
   or the session cookie. Without either, a browser's page load is redirected
   to ``/login`` and everything else gets 401 JSON. Open: ``/login``,
   ``/logout``, and ``GET /metrics`` when the dashboard runs with
   ``--metrics-auth=none``.
3. A mutating request under ``/api/`` must say ``Content-Type:
   application/json`` (415 otherwise): no HTML form can send that.

The session cookie is not the token: it is HMAC-SHA256(token, a fixed label),
so a stolen cookie does not give the gRPC token, and it stays valid exactly as
long as the token does.
"""

from __future__ import annotations

import hashlib
import hmac
import urllib.parse
from dataclasses import dataclass
from typing import Awaitable, Callable

from aiohttp import web

from comet._private import auth
from comet.dashboard.http_util import Handler, error_response

SESSION_COOKIE = "comet_session"
_COOKIE_LABEL = b"comet dashboard session v1"
MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_ALLOWED_FETCH_SITES = ("same-origin", "none")
_DEFAULT_PORTS = {"http": 80, "https": 443}
LOGIN_PATH = "/login"
LOGOUT_PATH = "/logout"
METRICS_PATH = "/metrics"
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class HttpAuthPolicy:
    """What the dashboard asks of callers. ``token`` is None when cluster
    auth is disabled; ``metrics_open`` opens ``GET /metrics`` alone."""

    token: str | None
    metrics_open: bool = False

    @property
    def required(self) -> bool:
        return self.token is not None

    def session_value(self) -> str:
        """The session cookie's value, derived from the token."""
        assert self.token is not None
        return hmac.new(self.token.encode(), _COOKIE_LABEL, hashlib.sha256).hexdigest()

    def token_matches(self, candidate: str) -> bool:
        """Constant-time comparison with the cluster token."""
        return self.token is not None and hmac.compare_digest(
            candidate.encode(), self.token.encode())

    def authorized(self, request: web.Request) -> bool:
        """Whether the request carries the bearer token or the session cookie."""
        if self.token is None:
            return True
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and self.token_matches(credentials.strip()):
            return True
        cookie = request.cookies.get(SESSION_COOKIE)
        return cookie is not None and hmac.compare_digest(
            cookie.encode(), self.session_value().encode())

    def is_open(self, request: web.Request) -> bool:
        """Routes that need no credentials."""
        if request.path in (LOGIN_PATH, LOGOUT_PATH):
            return True
        return (self.metrics_open and request.path == METRICS_PATH
                and request.method in ("GET", "HEAD"))


def _host_port(netloc: str, scheme: str) -> tuple[str, int | None] | None:
    """(lowercase host, port) of a ``host[:port]``; None when malformed."""
    try:
        parts = urllib.parse.urlsplit(f"//{netloc}")
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    return parts.hostname.lower(), port if port is not None else _DEFAULT_PORTS.get(scheme)


def same_origin(origin: str, request: web.Request) -> bool:
    """Whether an ``Origin`` header names the host:port this request was sent to."""
    parts = urllib.parse.urlsplit(origin.strip())
    if parts.scheme not in _DEFAULT_PORTS or parts.path not in ("", "/"):
        return False  # also "null": sandboxed frames, file: pages, redirects
    theirs = _host_port(parts.netloc, parts.scheme)
    ours = _host_port(request.host, request.scheme)
    return theirs is not None and theirs == ours


def cross_site_reason(request: web.Request) -> str | None:
    """Why a mutating request counts as sent by another site; None when it does not."""
    if request.method not in MUTATING_METHODS:
        return None
    site = request.headers.get("Sec-Fetch-Site", "").strip().lower()
    if site and site not in _ALLOWED_FETCH_SITES:
        return f"the browser says this request comes from another site (Sec-Fetch-Site: {site})"
    origin = request.headers.get("Origin")
    if origin is not None and not same_origin(origin, request):
        return f"Origin {origin!r} is not this server ({request.host})"
    return None


def _loopback_host(request: web.Request) -> bool:
    host_port = _host_port(request.host, request.scheme)
    return host_port is not None and auth.is_loopback(host_port[0])


def _is_json(request: web.Request) -> bool:
    return ("Content-Type" in request.headers
            and request.content_type.lower() == "application/json")


def _wants_page(request: web.Request) -> bool:
    """A browser loading a page of the UI (not an API call, not a scraper)."""
    return (request.method in ("GET", "HEAD") and not request.path.startswith("/api/")
            and request.path != METRICS_PATH
            and "text/html" in request.headers.get("Accept", ""))


def _login_redirect(request: web.Request) -> web.Response:
    target = LOGIN_PATH
    if request.path_qs != "/":
        target += "?" + urllib.parse.urlencode({"next": request.path_qs})
    return web.Response(status=303, headers={"Location": target, "Cache-Control": "no-store"})


def _unauthorized() -> web.Response:
    response = error_response(
        401, "authentication required: send 'Authorization: Bearer <cluster token>' (the "
             "token is in ~/.comet/auth_token of the user who started the head, or in "
             "$COMET_AUTH_TOKEN / $COMET_AUTH_TOKEN_PATH there), or log in at /login")
    response.headers["WWW-Authenticate"] = 'Bearer realm="comet"'
    return response


def refusal(policy: HttpAuthPolicy, request: web.Request) -> web.StreamResponse | None:
    """The answer that refuses this request, or None when it may go on."""
    reason = cross_site_reason(request)
    if reason is not None:
        return error_response(403, f"cross-site request refused: {reason}")
    if not policy.required and not _loopback_host(request):
        return error_response(403, f"Host {request.host!r} refused: with cluster auth "
                                   "disabled the dashboard answers loopback names only")
    if not policy.is_open(request) and not policy.authorized(request):
        return _login_redirect(request) if _wants_page(request) else _unauthorized()
    if (request.method in MUTATING_METHODS and request.path.startswith("/api/")
            and not _is_json(request)):
        got = request.headers.get("Content-Type", "none")
        return error_response(415, f"send the request as Content-Type: application/json "
                                   f"(got {got})")
    return None


def make_auth_middleware(policy: HttpAuthPolicy) -> Middleware:
    """The middleware that applies :func:`refusal` before any handler."""

    @web.middleware
    async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        refused = refusal(policy, request)
        if refused is not None:
            return refused
        return await handler(request)

    return auth_middleware


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: no framing by other sites, no content sniffing."""
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
