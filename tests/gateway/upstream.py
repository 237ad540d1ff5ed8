"""A tiny real upstream for routing tests: echoes what reached it, and can be slow."""

from __future__ import annotations

import asyncio
import gzip
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson
import uvicorn
from fastapi import FastAPI, Request, Response

SLOW_S = 2.0


def echo_app() -> FastAPI:
    app = FastAPI()

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/slow")
    async def slow() -> dict[str, str]:
        await asyncio.sleep(SLOW_S)
        return {"status": "late"}

    @app.get("/v1/gzipped")
    async def gzipped() -> Response:
        body = gzip.compress(b'{"compressed": true}')
        return Response(body, media_type="application/json", headers={"Content-Encoding": "gzip"})

    @app.api_route("/v1/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def echo(request: Request) -> Response:
        seen = {
            "method": request.method,
            "raw_path": request.scope["raw_path"].decode(),
            "query": request.scope["query_string"].decode(),
            "headers": [[k.decode(), v.decode()] for k, v in request.headers.raw],
            "body": (await request.body()).decode(),
        }
        return Response(
            orjson.dumps(seen),
            status_code=201 if request.method == "POST" else 200,
            media_type="application/json",
            headers={"X-Upstream": "echo", "Keep-Alive": "timeout=5"},
        )

    return app


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[int]:
    """Serve `app` with uvicorn on a free port in this event loop; yields the port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_config=None,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(10):
            while not server.started:
                if task.done():
                    task.result()
                    raise RuntimeError("the upstream server stopped during start-up")
                await asyncio.sleep(0.01)
        yield port
    finally:
        server.should_exit = True
        async with asyncio.timeout(10):
            await task
        sock.close()


@asynccontextmanager
async def refusing_port() -> AsyncIterator[int]:
    """A port bound but not listening: connections to it are refused, and nobody takes it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()
