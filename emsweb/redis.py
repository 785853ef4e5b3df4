"""The Redis clients for small shared state (locks, notifications); Celery has its own."""

from functools import cache

import redis
from django.conf import settings


@cache
def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=5)


@cache
def redis_blocking_client() -> redis.Redis:
    """For blocking reads (BLPOP, at most a minute), whose wait must not trip the socket
    timeout; a fixed one, so that it does not depend on the wait the first caller asked for."""
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=75, socket_connect_timeout=5)


def signal_send(key: str, *, keep_seconds: int) -> None:
    """Wake whoever waits on `key` (signal_wait); one that comes to wait later, within
    `keep_seconds`, finds it at once, so no signal is missed."""
    with redis_client().pipeline() as pipe:
        pipe.rpush(key, 1)
        pipe.expire(key, keep_seconds)
        pipe.execute()


def signal_wait(key: str, *, timeout: float) -> bool:
    """True once `key` was signalled; False if `timeout` seconds passed first."""
    if timeout <= 0:  # BLPOP would take 0 as "wait for ever"
        return redis_client().lpop(key) is not None
    return redis_blocking_client().blpop([key], timeout=timeout) is not None
