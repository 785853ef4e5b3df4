"""The stream's two WebSocket doors: /v1/ws for scripts (the EMS WebSocket API, authenticated like
REST) and /stream for the desk's pages (the session cookie, the site's own Origin).

Both read the process's hub (stream.hub). A consumer only moves messages: what a message says is
stream.protocol's, and a request is handled by the same services as REST, in a thread.
Every account is visible to everyone on the desk (accounts.selectors.accounts_visible), so every
event goes to every connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from urllib.parse import parse_qsl, urlsplit

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.http.request import split_domain_port, validate_host

from accounts.access import session_may_stream
from accounts.audit import client_address
from emsweb.api.auth import api_key_authenticate, api_key_presented
from stream import protocol
from stream.hub import Subscription, process_hub
from stream.pages import page_fragments, page_params

logger = logging.getLogger(__name__)

# Requests wait on the order path (an order's routing): in threads of their own, many at once,
# never on channels' one shared thread (its thread_sensitive default).
REQUEST_THREADS = ThreadPoolExecutor(16, thread_name_prefix="stream-request")
in_request_thread = partial(
    database_sync_to_async, thread_sensitive=False, executor=REQUEST_THREADS
)
in_thread = partial(database_sync_to_async, thread_sensitive=False)

HEARTBEAT_EVERY = 1.0  # SERVER_INFO, as the hosted EMS sends it
# A page's push gathers the events of this long after the first: one render for a burst.
PAGE_BATCH_SECONDS = 0.05

# Close codes: RFC 6455's, and 4000-4999 (the application's) for what the client must fix.
SLOW_CONSUMER = (1013, "slow consumer")
ACCESS_REVOKED = (4401, "access revoked")
SERVER_STOPPING = (1012, "server restarting")
BAD_SINCE = (4400, "since: must be a whole number, the last seq received")
NOT_TEXT = (1003, "frames must be JSON text")
PAGE_FAILED = (1011, "page update failed")


def _query(scope) -> dict[str, str]:
    return dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))


def _headers(scope) -> dict[str, str]:
    return {
        name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]
    }


class StreamConsumer(AsyncWebsocketConsumer):
    """What both doors share: a subscription pumped to the client, a heartbeat, and a close
    when the subscription ends (slow, access revoked, server stopping).

    A client falls behind by so much (its subscription's buffer) or for so long (a message that
    waits EMSWEB_STREAM_CLIENT_WAIT seconds for room) at most: then it is slow, and closed."""

    subscription: Subscription | None = None
    # Each event goes out as its message, unchanged (the pump below): the hub may then write it
    # straight to the connection (Subscription.direct). A page's pump renders events instead.
    events_sent_as_they_are = True
    running: tuple[asyncio.Task, ...] = ()  # the pump and the heartbeat
    closing: asyncio.Task | None = None

    async def stream_start(self, *, since: int | None, user_id: int, connection=None):
        """Subscribe, send what the client starts from (snapshots or nothing: a resumed
        subscription's backlog comes through the pump), then pump and beat."""
        subscription = await process_hub().subscribe(since=since)
        subscription.user_id = user_id
        if connection is not None:  # the hub tells protocol it is alive, each second
            subscription.api_key_id, subscription.connection = connection.api_key.pk, connection
        subscription.on_end = self._on_end
        if self.events_sent_as_they_are:
            # The server's protocol, when it is emsweb.web_worker's (not under a test's
            # communicator, or another server).
            protocol_of_server = getattr(self.base_send, "__self__", None)
            subscription.direct = getattr(protocol_of_server, "send_text_now", None)
        self.subscription = subscription
        await self.send(protocol.server_info(seq=subscription.last_seq))
        if since is None or subscription.backlog_gap:
            for message in await self.opening_messages(subscription):
                await self.send(message)
        if subscription.finished:
            return  # ended while it opened: its close is on its way
        self.running = (
            asyncio.create_task(self._pump(subscription)),
            asyncio.create_task(self._beat(subscription)),
        )

    async def opening_messages(self, subscription: Subscription) -> list[str]:
        return []

    async def send(self, text_data=None, bytes_data=None, close=False) -> None:
        """To the client, unless its subscription has ended (its close is on its way)."""
        subscription = self.subscription  # None while it opens (a request's reply may come)
        if subscription is not None and subscription.finished:
            return
        try:
            async with asyncio.timeout(settings.EMSWEB_STREAM_CLIENT_WAIT):
                await super().send(text_data, bytes_data, close)
        except TimeoutError:
            if subscription is None:
                raise
            subscription.end(slow=True)

    async def _pump(self, subscription: Subscription) -> None:
        while (event := await subscription.next()) is not None:
            await self.send(event.message)

    async def _beat(self, subscription: Subscription) -> None:
        while not subscription.finished:
            await asyncio.sleep(HEARTBEAT_EVERY)
            await self.send(protocol.server_info(seq=subscription.last_seq))

    def _on_end(self) -> None:
        subscription = self.subscription
        if subscription.slow:
            code = SLOW_CONSUMER
        elif subscription.revoked:
            code = ACCESS_REVOKED
        else:
            code = SERVER_STOPPING
        self.closing = asyncio.create_task(self._close_for(code))

    async def _close_for(self, code: tuple[int, str]) -> None:
        for task in self.running:
            task.cancel()
        # Behind what the client has not read yet, without waiting for it to read, and dropped
        # if it does not read it in time (emsweb.web_worker.StreamProtocol).
        with contextlib.suppress(Exception):  # the client went first
            await self.close(code=code[0], reason=code[1])

    async def disconnect(self, code) -> None:
        current = asyncio.current_task()
        for task in (*self.running, self.closing):
            if task is not None and task is not current:
                task.cancel()
        if self.subscription is not None:
            self.subscription.close()


class ApiStreamConsumer(StreamConsumer):
    """/v1/ws: the hosted EMS's WebSocket API, with seq and resume (`?since=<seq>`)."""

    connection: protocol.ConnectionInfo | None = None

    async def connect(self) -> None:
        query = _query(self.scope)
        key = api_key_presented(headers=_headers(self.scope), query=query)
        api_key = await in_thread(api_key_authenticate)(key)
        if api_key is None:
            await self.close(code=ACCESS_REVOKED[0])  # before accept: an HTTP 403
            return
        await self.accept()
        since = query.get("since")
        if since is not None and not (since.isascii() and since.isdigit()):
            await self.close(code=BAD_SINCE[0], reason=BAD_SINCE[1])
            return
        peer = self.scope.get("client")
        self.connection = protocol.ConnectionInfo(
            id=uuid.uuid4().hex,
            api_key=api_key,
            user=api_key.user,
            ip=client_address(
                forwarded_for=_headers(self.scope).get("x-forwarded-for", ""),
                peer=peer[0] if peer else None,
            ),
        )
        await in_thread(protocol.connection_alive)(conn=self.connection)
        await self.stream_start(
            since=int(since) if since is not None else None,
            user_id=api_key.user_id,
            connection=self.connection,
        )

    async def opening_messages(self, subscription: Subscription) -> list[str]:
        return await in_thread(protocol.snapshots)(
            user=self.connection.user, seq=subscription.last_seq, resync=subscription.backlog_gap
        )

    async def receive(self, text_data=None, bytes_data=None) -> None:
        if text_data is None:
            try:
                text_data = bytes_data.decode("utf-8")
            except UnicodeDecodeError:
                await self.close(code=NOT_TEXT[0], reason=NOT_TEXT[1])
                return
        if self.connection is None:
            return
        replies = await in_request_thread(protocol.handle)(conn=self.connection, text=text_data)
        for reply in replies:
            await self.send(reply)

    async def disconnect(self, code) -> None:
        await super().disconnect(code)
        if self.connection is not None:
            await in_thread(protocol.connection_closed)(conn=self.connection)


class PageStreamConsumer(StreamConsumer):
    """/stream: the desk's pages, signed in by their session cookie, from the site's own origin
    only (emsweb.asgi wraps this in channels' AllowedHostsOriginValidator; this checks, also,
    that the Origin is the very host the page was served from). The query names the page and
    its parameters (its `data-stream`); what it gets is HTML: on connecting, all of the page's
    live parts, then, for each batch of events (those of PAGE_BATCH_SECONDS after the first),
    the parts they touch (stream.pages)."""

    page = ""
    params: dict = {}
    events_sent_as_they_are = False

    async def connect(self) -> None:
        user = self.scope.get("user")
        allowed = (
            user is not None
            and self._same_origin()
            and await in_thread(session_may_stream)(user=user, session=self.scope["session"])
        )
        if not allowed:
            await self.close()  # before accept: an HTTP 403
            return
        await self.accept()
        self.page, self.params = page_params(
            query=_query(self.scope), cookies=self.scope.get("cookies", {})
        )
        # No resume: a page that (re)connects is sent all of its live parts as they are now.
        await self.stream_start(since=None, user_id=user.pk)

    async def opening_messages(self, subscription: Subscription) -> list[str]:
        html = await self._fragments(None)
        return [html] if html else []

    async def _pump(self, subscription: Subscription) -> None:
        loop = asyncio.get_running_loop()
        while (event := await subscription.next()) is not None:
            batch, deadline = [event], loop.time() + PAGE_BATCH_SECONDS
            while (left := deadline - loop.time()) > 0:
                try:
                    event = await asyncio.wait_for(subscription.next(), left)
                except TimeoutError:
                    break
                if event is None:
                    return
                batch.append(event)
            try:
                html = await self._fragments(batch)
            except Exception:
                # A page that missed an update must not show "live": closed, it polls and
                # reconnects, and is sent all of its parts afresh.
                logger.exception("stream: a page's update failed to render; closing it")
                await self.close(code=PAGE_FAILED[0], reason=PAGE_FAILED[1])
                return
            if html:
                await self.send(html)

    async def _fragments(self, events) -> str | None:
        return await in_thread(page_fragments)(
            user=self.scope["user"], page=self.page, params=self.params, events=events
        )

    def _same_origin(self) -> bool:
        return same_origin(self.scope)


def same_origin(scope) -> bool:
    """A page's WebSocket from the very host the page was served from (and an allowed one)."""
    headers = _headers(scope)
    origin = urlsplit(headers.get("origin", ""))
    host = headers.get("host", "")
    domain, _ = split_domain_port(host)
    return (
        origin.scheme in ("http", "https")
        and origin.netloc.lower() == host.lower()
        and validate_host(domain, settings.ALLOWED_HOSTS)
    )
