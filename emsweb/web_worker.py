"""gunicorn's worker for the web port: uvicorn's, set for the stream. gunicorn keeps its process
management (and `make run`'s held socket, fd://); uvicorn serves HTTP and WebSockets."""

import gc
import logging
import signal
import socket

from django.conf import settings
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn_worker import UvicornWorker
from websockets.exceptions import InvalidState

from emsweb.logging import QueryMask
from emsweb.supervisor import dying_with_parent

# The kernel's share of what a client has not read yet (Linux doubles it for its bookkeeping).
# Left to autotuning it grows to net.ipv4.tcp_wmem's maximum, megabytes, and a client that stops
# reading would be far behind before its sends ever waited (stream.consumers).
SEND_BUFFER_BYTES = 64 * 1024


class StreamProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol, bounded for a client that stops reading: a small kernel send
    buffer; a close frame that is written behind what the client has not read yet instead of
    waiting, as uvicorn's does, for room that may never come; and a connection that is dropped
    (aborted) when the client has not completed the close within EMSWEB_STREAM_CLIENT_WAIT
    seconds, where uvicorn's would wait for its unread data to drain, forever if it never reads.
    """

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self.close_timeout = settings.EMSWEB_STREAM_CLIENT_WAIT
        connection = transport.get_extra_info("socket")
        if connection is not None:
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)

    async def send(self, message) -> None:
        closing = message["type"] == "websocket.close" and self.handshake_complete
        if closing:
            self.writable.set()  # super().send() waits on it first; nothing runs in between
        await super().send(message)
        if closing and self.close_timer is not None:
            self.close_timer.cancel()
            self.close_timer = self.loop.call_later(self.close_timeout, self.drop)

    def send_text_now(self, text: str) -> bool:
        """Write one text frame at once, as send() would, when nothing stands in its way: the
        handshake done, no close sent, the transport taking data (not paused by a client that
        stopped reading). False: send it the ordinary way, which waits for room. The stream's
        fan-out writes each event to its idle connections so (stream.hub.Subscription.direct),
        without a task switch and an ASGI message per connection."""
        if (
            not self.handshake_complete
            or self.initial_response is not None
            or self.close_sent
            or self.disconnected
            or not self.writable.is_set()
            or self.transport.is_closing()
        ):
            return False
        try:
            self.conn.send_text(text.encode())
        except InvalidState:
            return False
        self.transport.write(b"".join(self.conn.data_to_send()))
        return True

    def keepalive_timeout(self) -> None:
        super().keepalive_timeout()  # closes the transport, which waits for its data to drain
        self.loop.call_later(self.close_timeout, self.drop)

    def drop(self) -> None:
        if not self.disconnected:
            self.transport.abort()


class WebWorker(UvicornWorker):
    CONFIG_KWARGS = {
        "loop": "uvloop",
        "http": "httptools",
        "ws": StreamProtocol,
        # The hosted EMS pings every minute and closes a connection that does not answer.
        "ws_ping_interval": 60.0,
        "ws_ping_timeout": 20.0,
        # A bigger frame is closed with 1009 before it is read (a request is a few hundred bytes).
        "ws_max_size": 64 * 1024,
        "ws_per_message_deflate": False,
        "lifespan": "on",
        # The client's address and scheme are Django's to read (SECURE_PROXY_SSL_HEADER,
        # AXES_PROXY_COUNT), from the peer and the headers as gunicorn's workers passed them.
        "proxy_headers": False,
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # uvicorn's access and WebSocket lines carry the query string, where ?apikey= may ride.
        for name in ("uvicorn.access", "uvicorn.error"):
            logging.getLogger(name).addFilter(QueryMask())

    def init_process(self) -> None:
        # gunicorn's own workers notice a dead master within a second (they compare their
        # parent's pid in their loop); uvicorn's checks only when it notifies, every
        # timeout / 2 seconds. A master killed with `make run`'s launcher (kill -9) would leave
        # this worker serving on: the kernel stops it instead, as gracefully as a SIGTERM.
        dying_with_parent(signal.SIGTERM, parent=self.ppid)
        super().init_process()

    def load_wsgi(self) -> None:
        super().load_wsgi()
        # Django, the models and every module are loaded for good: out of the collector's sight,
        # so that each collection walks only what requests make, not the whole application.
        gc.freeze()
