"""gunicorn's worker for the web port: uvicorn's, set for the stream. gunicorn keeps its process
management (and `make run`'s held socket, fd://); uvicorn serves HTTP and WebSockets."""

import logging
import signal

from uvicorn_worker import UvicornWorker

from emsweb.logging import QueryMask
from emsweb.supervisor import dying_with_parent


class WebWorker(UvicornWorker):
    CONFIG_KWARGS = {
        "loop": "uvloop",
        "http": "httptools",
        "ws": "websockets-sansio",
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
