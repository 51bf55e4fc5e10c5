"""Builds the dashboard's aiohttp application: wires the GCS access, the job
manager and its scheduler, the metrics sampler and every route module, and their lifetimes."""

from __future__ import annotations

import asyncio

from aiohttp import web

from comet.dashboard import static_routes
from comet.dashboard.auth_middleware import (HttpAuthPolicy, add_security_headers,
                                             make_auth_middleware)
from comet.dashboard.gcs import Gcs
from comet.dashboard.http_util import error_middleware
from comet.dashboard.job_manager import JobManager
from comet.dashboard.job_routes import JobRoutes
from comet.dashboard.job_scheduler import JobScheduler
from comet.dashboard.log_routes import LogRoutes
from comet.dashboard.login_routes import LoginRoutes
from comet.dashboard.metrics_history import MetricsHistory
from comet.dashboard.metrics_routes import MetricsRoutes
from comet.dashboard.schedule_routes import ScheduleRoutes
from comet.dashboard.state_routes import StateRoutes


def make_app(gcs_address: str, session_dir: str, policy: HttpAuthPolicy,
             static_dir: str = static_routes.STATIC_DIR) -> web.Application:
    """The dashboard app; ``policy`` says what callers must present (its
    middleware runs before every other one)."""
    gcs = Gcs(gcs_address)
    jobs = JobManager(gcs, session_dir)
    scheduler = JobScheduler(gcs, jobs, gcs_address)
    history = MetricsHistory(gcs)
    metrics = MetricsRoutes(gcs, jobs, history)
    state = StateRoutes(gcs, session_dir)

    app = web.Application(middlewares=[make_auth_middleware(policy),
                                       metrics.timing_middleware, error_middleware])
    app.on_response_prepare.append(add_security_headers)
    LoginRoutes(policy).add_routes(app)
    JobRoutes(jobs, gcs).add_routes(app)
    ScheduleRoutes(scheduler, gcs).add_routes(app)
    state.add_routes(app)
    LogRoutes(state).add_routes(app)
    metrics.add_routes(app)
    static_routes.add_routes(app, static_dir)  # last: its catch-all route

    tasks: list[asyncio.Task] = []

    async def on_startup(app: web.Application) -> None:
        await jobs.recover()
        history.start()
        tasks.append(asyncio.get_running_loop().create_task(scheduler.run()))

    async def on_shutdown(app: web.Application) -> None:
        for task in tasks:
            task.cancel()
        await history.stop()
        await jobs.shutdown()

    async def on_cleanup(app: web.Application) -> None:
        gcs.close()

    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    app.on_cleanup.append(on_cleanup)
    return app
