"""GET/POST /login and /logout: a browser trades the cluster token, typed
once into a small self-contained form, for the session cookie (HttpOnly,
SameSite=Strict, Secure over HTTPS). The middleware in auth_middleware.py has
already applied the cross-site check to the POST."""

from __future__ import annotations

import html

from aiohttp import web

from comet.dashboard.auth_middleware import (LOGIN_PATH, LOGOUT_PATH, SESSION_COOKIE,
                                             HttpAuthPolicy)

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Comet dashboard: log in</title>
<style>
body {{ font-family: system-ui, sans-serif; background: #f5f6f8; color: #1d2330;
       display: flex; justify-content: center; margin-top: 12vh; }}
form {{ background: #fff; padding: 2rem; border-radius: 8px; width: 26rem;
       box-shadow: 0 1px 4px rgba(0, 0, 0, .12); }}
h1 {{ font-size: 1.3rem; margin: 0 0 1rem; }}
label {{ display: block; margin-bottom: .4rem; }}
input[type=password] {{ width: 100%; box-sizing: border-box; padding: .5rem;
       font-family: monospace; }}
button {{ margin-top: 1rem; padding: .5rem 1.2rem; }}
p.error {{ color: #b00020; }}
code {{ background: #eef; padding: 0 .2rem; }}
</style></head>
<body><form method="post" action="/login" data-page="login">
<h1>Comet dashboard</h1>
{error}<label for="token">Cluster token</label>
<input type="password" id="token" name="token" autocomplete="current-password"
       autofocus required>
<input type="hidden" name="next" value="{next}">
<p>On the head node: <code>cat ~/.comet/auth_token</code> (or the file
<code>$COMET_AUTH_TOKEN_PATH</code> names).</p>
<button type="submit">Log in</button>
</form></body></html>
"""


def _safe_next(target: str | None) -> str:
    """Only a path on this server: never another site (``//host``, ``/\\host``)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


def _page(next_path: str, error: str = "", status: int = 200) -> web.Response:
    text = _PAGE.format(next=html.escape(next_path, quote=True),
                        error=f'<p class="error">{html.escape(error)}</p>\n' if error else "")
    return web.Response(text=text, status=status, content_type="text/html",
                        headers={"Cache-Control": "no-store"})


def _redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location, "Cache-Control": "no-store"})


class LoginRoutes:
    """The login form, the token-for-cookie exchange and logout."""

    def __init__(self, policy: HttpAuthPolicy) -> None:
        self._policy = policy

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(LOGIN_PATH, self.form)
        app.router.add_post(LOGIN_PATH, self.login)
        app.router.add_get(LOGOUT_PATH, self.logout)
        app.router.add_post(LOGOUT_PATH, self.logout)

    async def form(self, request: web.Request) -> web.Response:
        next_path = _safe_next(request.query.get("next"))
        if not self._policy.required or self._policy.authorized(request):
            return _redirect(next_path)
        return _page(next_path)

    async def login(self, request: web.Request) -> web.Response:
        if request.content_type not in _FORM_TYPES:
            return _page("/", f"send the form as {_FORM_TYPES[0]}", status=415)
        form = await request.post()
        next_path = _safe_next(str(form.get("next", "")))
        if not self._policy.required:
            return _redirect(next_path)
        if not self._policy.token_matches(str(form.get("token", "")).strip()):
            return _page(next_path, "That is not this cluster's token.", status=401)
        response = _redirect(next_path)
        response.set_cookie(SESSION_COOKIE, self._policy.session_value(), path="/",
                            httponly=True, samesite="Strict", secure=request.secure)
        return response

    async def logout(self, request: web.Request) -> web.Response:
        response = _redirect(LOGIN_PATH)
        response.del_cookie(SESSION_COOKIE, path="/")
        return response
