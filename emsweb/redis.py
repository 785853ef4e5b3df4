"""The Redis clients for small shared state (locks, notifications); Celery has its own."""

from functools import cache

import redis
from django.conf import settings


@cache
def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=5)


def pubsub_channel(name: str) -> str:
    """`name` as a pub/sub channel of this Redis database. Redis delivers a PUBLISH to the
    subscribers on every database of its server, so two desks sharing one server, each with a
    database of its own (or a desk and a test run), would hear each other's events: the
    channel carries the database's number, as Kombu's fanout_prefix does for Celery's."""
    return f"{name}@{_database_number()}"


@cache
def _database_number() -> int:
    return redis_client().connection_pool.connection_kwargs.get("db", 0)


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
