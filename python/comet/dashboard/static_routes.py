"""The web UI's files from static/: index.html at "/", assets by path, and
index.html for any other path outside /api/ (client-side routes)."""

from __future__ import annotations

import os

from aiohttp import web

STATIC_DIR = os.path.join(os.path.dirname(__file__), "static")


def add_routes(app: web.Application, static_dir: str = STATIC_DIR) -> None:
    async def serve(request: web.Request) -> web.StreamResponse:
        rel = request.match_info.get("path", "")
        if rel.startswith("api/") or rel == "api":
            raise web.HTTPNotFound(reason=f"no API endpoint {request.path}")
        root = os.path.realpath(static_dir)
        index = os.path.join(root, "index.html")
        if not os.path.isfile(index):
            raise web.HTTPNotFound(reason="the dashboard UI is not built "
                                          f"(no {index}); the REST API is under /api/")
        target = os.path.realpath(os.path.join(root, rel))
        if rel and target.startswith(root + os.sep) and os.path.isfile(target):
            return web.FileResponse(target)
        return web.FileResponse(index)

    app.router.add_get("/", serve)
    app.router.add_get("/{path:.*}", serve)
