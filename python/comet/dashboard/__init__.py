"""The dashboard: an aiohttp server with the job server, the state REST API,
Prometheus metrics and the web UI's static files. Run it with
``python -m comet.dashboard``; docs/dashboard.md describes every endpoint."""
