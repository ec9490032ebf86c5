"""The worker's web pages while it catches up, before Faust's web server is up.

A catch-up of a million records takes a minute or more: an orchestrator's liveness probe
must get its answer meanwhile, Prometheus its scrape (``slamon_events_total`` shows the
progress), and readiness must say no. Same paths, port and formats as the worker's pages
(worker/app.py); the server is closed before Faust binds the port.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder


@contextlib.asynccontextmanager
async def serving(
    host: str, port: int, registry: CollectorRegistry, progress: Callable[[], dict[str, Any]]
) -> AsyncIterator[None]:
    """``/healthz`` 200, ``/readyz`` 503 with the progress, ``/metrics``, inside the block."""

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_request: web.Request) -> web.Response:
        return web.json_response({"ready": False, "catching_up": True, **progress()}, status=503)

    async def metrics(request: web.Request) -> web.Response:
        encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
        return web.Response(body=encoder(registry), content_type=content_type.split(";")[0],
                            charset="utf-8")  # fmt: skip

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    try:
        yield
    finally:
        await runner.cleanup()
