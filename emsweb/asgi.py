"""The web port's one application, as gunicorn's uvicorn workers serve it (emsweb.web_worker):
HTTP to Django's WSGI application, run in threads (a2wsgi); WebSockets to the stream's
consumers (/v1/ws for scripts, /stream for the pages, /stream/market for the trading
screen's book and candles); the lifespan starts and stops the
process's stream hub. Why this pairing and not Django's ASGI handler or daphne: pyproject.toml.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "emsweb.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402 - sets Django up first

django_wsgi = get_wsgi_application()

from a2wsgi import WSGIMiddleware  # noqa: E402
from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.urls import path, re_path  # noqa: E402

from market.consumer import MarketConsumer  # noqa: E402
from market.hub import market_hub  # noqa: E402
from stream.consumers import ApiStreamConsumer, PageStreamConsumer  # noqa: E402
from stream.hub import process_hub  # noqa: E402


async def no_such_stream(scope, receive, send) -> None:
    """A WebSocket to any other path: refused at the handshake (HTTP 403)."""
    await receive()  # websocket.connect
    await send({"type": "websocket.close"})


http = WSGIMiddleware(django_wsgi, workers=settings.EMSWEB_HTTP_THREADS)
websocket = URLRouter(
    [
        path("v1/ws", ApiStreamConsumer.as_asgi()),
        path(
            "stream",
            AllowedHostsOriginValidator(AuthMiddlewareStack(PageStreamConsumer.as_asgi())),
        ),
        path(
            "stream/market",
            AllowedHostsOriginValidator(AuthMiddlewareStack(MarketConsumer.as_asgi())),
        ),
        re_path(r"", no_such_stream),
    ]
)


async def lifespan(receive, send) -> None:
    """The hub starts with the worker, so that the sequencer runs with no client connected."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await process_hub().start()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await process_hub().stop()
            await market_hub().stop()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def application(scope, receive, send) -> None:
    if scope["type"] == "http":
        await http(scope, receive, send)
    elif scope["type"] == "websocket":
        await websocket(scope, receive, send)
    elif scope["type"] == "lifespan":
        await lifespan(receive, send)
