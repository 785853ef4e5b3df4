"""Which API keys have a live /v1/ws connection, kept in Redis so that every stream process
and the worker that cancels on disconnect see the same thing.

One hash per key: each open connection's field holds the time of its last heartbeat (the stream
refreshes it every second); a closed connection's field is dropped and "left" records when. The
key was last seen at the newest of these times. A connection whose process died without closing
it (kill -9) simply stops refreshing its field: it counts as live for LIVE_WINDOW seconds after
its last heartbeat, then as gone since that heartbeat. A hash that is missing altogether (Redis
flushed or restarted) starts the clock when the sweep first notices, rather than at once, so
live connections have their next heartbeat to show up again.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from emsweb.redis import redis_client

# A connection is live while its last heartbeat is this recent: a few missed heartbeats (1 s
# apart) are a busy event loop, not a dead connection.
LIVE_WINDOW = 3.0
# The hash outlives its last write by this long, so that keys never used again do not pile up.
KEEP_SECONDS = 86400
LEFT = "left"
NOTICED = "noticed"  # set by the sweep when it finds no trace of the key at all


def _key(api_key_id: int) -> str:
    return f"emsweb:presence:{api_key_id}"


def presence_touch(*, connections: Iterable[tuple[int, str]], now: float | None = None) -> None:
    """Each (api key id, connection id) is live now: one round trip for all of them."""
    now = time.time() if now is None else now
    with redis_client().pipeline(transaction=False) as pipe:
        for api_key_id, connection_id in connections:
            pipe.hset(_key(api_key_id), f"c:{connection_id}", repr(now))
            pipe.expire(_key(api_key_id), KEEP_SECONDS)
        pipe.execute()


def presence_drop(*, api_key_id: int, connection_id: str, now: float | None = None) -> None:
    """The connection closed: the key was last seen now, unless another connection of it lives."""
    now = time.time() if now is None else now
    with redis_client().pipeline(transaction=False) as pipe:
        pipe.hdel(_key(api_key_id), f"c:{connection_id}")
        pipe.hset(_key(api_key_id), LEFT, repr(now))
        pipe.expire(_key(api_key_id), KEEP_SECONDS)
        pipe.execute()


def presence_absent_for(*, api_key_id: int, now: float | None = None) -> float:
    """How long the key has had no live connection, in seconds: 0 while one lives."""
    now = time.time() if now is None else now
    client = redis_client()
    seen = client.hgetall(_key(api_key_id))
    if not seen:
        client.hsetnx(_key(api_key_id), NOTICED, repr(now))
        client.expire(_key(api_key_id), KEEP_SECONDS)
        seen = client.hgetall(_key(api_key_id))
    times = {field.decode(): float(value) for field, value in seen.items()}
    connections = [at for field, at in times.items() if field.startswith("c:")]
    if any(now - at <= LIVE_WINDOW for at in connections):
        return 0.0
    return max(0.0, now - max(times.values(), default=now))
