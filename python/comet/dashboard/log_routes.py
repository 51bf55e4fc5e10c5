"""Log files of the nodes: each node's <session_dir>/logs/ (nodes on this
machine share the filesystem), listed and read with an optional tail."""

from __future__ import annotations

import os
from typing import Any

from aiohttp import web

from comet.dashboard.http_util import ApiError, json_response, query_int
from comet.dashboard.state_routes import StateRoutes
from comet.util.state.logs import list_log_files, read_log_file

Row = dict[str, Any]


class LogRoutes:
    def __init__(self, state: StateRoutes) -> None:
        self._state = state

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/api/logs", self.list)
        app.router.add_get("/api/logs/file", self.file)

    async def list(self, request: web.Request) -> web.Response:
        node_id = request.query.get("node_id")
        contains = request.query.get("filename", "")
        nodes = await self._state.node_rows()
        if node_id:
            nodes = [n for n in nodes if n["node_id"] == node_id.lower()]
            if not nodes:
                raise ApiError(404, f"Node {node_id} does not exist")
        return json_response({"nodes": [
            {"node_id": n["node_id"], "session_dir": n.get("session_dir", ""),
             "files": list_log_files(n.get("session_dir", ""), contains)} for n in nodes]})

    async def file(self, request: web.Request) -> web.Response:
        filename = request.query.get("filename", "")
        if not filename or "/" in filename or filename in (".", ".."):
            raise ApiError(400, "query parameter 'filename' must be a file name in logs/")
        node = await self._node(request.query.get("node_id"))
        path = os.path.join(node.get("session_dir", ""), "logs", filename)
        try:
            content, truncated = read_log_file(path, query_int(request, "lines"))
        except (FileNotFoundError, IsADirectoryError):
            raise ApiError(404, f"no log file {filename!r} on node {node['node_id']}") from None
        return json_response({"node_id": node["node_id"], "filename": filename,
                              "content": content, "truncated": truncated})

    async def _node(self, node_id: str | None) -> Row:
        nodes = await self._state.node_rows()
        for n in nodes:
            if (node_id and n["node_id"] == node_id.lower()) or (not node_id and n.get("is_head")):
                return n
        if node_id:
            raise ApiError(404, f"Node {node_id} does not exist")
        raise ApiError(404, "no head node (give node_id)")
