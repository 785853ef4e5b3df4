"""A candidate measured by bench.servers: HTTP through Django's own ASGI handler (sync views and
middleware run through sync_to_async), WebSockets and the lifespan as emsweb.asgi has them."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "emsweb.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi = get_asgi_application()

from emsweb import asgi  # noqa: E402


async def application(scope, receive, send) -> None:
    if scope["type"] == "http":
        await django_asgi(scope, receive, send)
    else:
        await asgi.application(scope, receive, send)
