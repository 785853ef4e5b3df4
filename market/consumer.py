"""/stream/market: one trading screen's book, candles and status (market.wire), pushed.

Signed in by the session cookie from the site's own Origin, like /stream; the account must be
one the user may see (market.screens, the only database read, on connecting). Then it only
moves what the process's market hub keeps: at most EMSWEB_MARKET_PUSH_RATE sends a second,
the latest of each thing, and no database query per update.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from market.hub import Screen, market_hub
from market.screens import screen_target
from market.wire import State, status_message
from stream.consumers import ACCESS_REVOKED, same_origin

UNKNOWN_INSTRUMENT = (4404, "unknown instrument")
SLOW_CONSUMER = (1013, "slow consumer")


async def pump(screen: Screen, send: Callable[[str], Awaitable[None]]) -> None:
    """Send the screen what it is due, then wait out the push interval: a burst in between
    leaves only its latest book (and last bar) to send. Returns once the screen is revoked."""
    interval = 1 / settings.EMSWEB_MARKET_PUSH_RATE
    while True:
        await screen.wake.wait()
        if screen.revoked:
            return
        for text in screen.take():
            await send(text)
        await asyncio.sleep(interval)


class MarketConsumer(AsyncWebsocketConsumer):
    screen: Screen | None = None
    pumping: asyncio.Task | None = None

    async def connect(self) -> None:
        query = dict(parse_qsl(self.scope.get("query_string", b"").decode("latin-1")))
        user = self.scope.get("user")
        target = None
        if user is not None and same_origin(self.scope):
            target = await database_sync_to_async(screen_target, thread_sensitive=False)(
                user=user,
                session=self.scope["session"],
                account=query.get("account", ""),
                instrument=query.get("instrument", ""),
            )
        if target is None:
            await self.close()  # before accept: an HTTP 403
            return
        await self.accept()
        if target.feed is None:
            words = f"{target.venue_name} has no instrument {query.get('instrument', '')!r}."
            await self.send(status_message(State.REFUSED, words))
            await self.close(code=UNKNOWN_INSTRUMENT[0], reason=UNKNOWN_INSTRUMENT[1])
            return
        self.screen = await market_hub().open(
            account_id=target.account_id,
            feed=target.feed,
            venue_name=target.venue_name,
            user_id=user.pk,
        )
        self.pumping = asyncio.create_task(self._pump(self.screen))

    async def _pump(self, screen: Screen) -> None:
        await pump(screen, self._send)
        # Revoked: its user was deactivated since it connected (market.hub checks each second).
        await self.close(code=ACCESS_REVOKED[0], reason=ACCESS_REVOKED[1])

    async def _send(self, text: str) -> None:
        try:
            async with asyncio.timeout(settings.EMSWEB_STREAM_CLIENT_WAIT):
                await self.send(text)
        except TimeoutError:
            await self.close(code=SLOW_CONSUMER[0], reason=SLOW_CONSUMER[1])
            raise asyncio.CancelledError from None

    async def receive(self, text_data=None, bytes_data=None) -> None:
        return  # the screen only listens

    async def disconnect(self, code) -> None:
        if self.pumping is not None and self.pumping is not asyncio.current_task():
            self.pumping.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.pumping
        if self.screen is not None:
            market_hub().close(self.screen)
            self.screen = None
