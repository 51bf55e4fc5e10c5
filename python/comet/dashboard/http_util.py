"""JSON responses and the error middleware shared by the dashboard's routes:
handlers raise ApiError (or let GcsUnavailable escape) and the middleware
answers {"error": message} with the right status."""

from __future__ import annotations

import json
import logging
from typing import Any, Awaitable, Callable

from aiohttp import web

from comet.dashboard.gcs import GcsUnavailable

logger = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(data, default=str), status=status,
                        content_type="application/json")


def error_response(status: int, message: str) -> web.Response:
    return json_response({"error": message}, status)


async def read_json(request: web.Request) -> Any:
    try:
        return await request.json()
    except ValueError as e:
        raise ApiError(400, f"the request body is not valid JSON: {e}") from None


def query_int(request: web.Request, name: str) -> int | None:
    value = request.query.get(name)
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except ValueError:
        raise ApiError(400, f"query parameter {name!r} must be an integer, got {value!r}")
    if number < 0:
        raise ApiError(400, f"query parameter {name!r} must be >= 0")
    return number


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as e:
        return error_response(e.status, e.message)
    except GcsUnavailable as e:
        return error_response(503, str(e))
    except web.HTTPException as e:
        if request.path.startswith("/api/") and e.status >= 400:
            return error_response(e.status, e.reason or "error")
        raise
