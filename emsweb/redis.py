"""The Redis clients for small shared state (locks, notifications); Celery has its own."""

from functools import cache

import redis
from django.conf import settings


@cache
def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=5)


@cache
def redis_blocking_client() -> redis.Redis:
    """For blocking reads (BLPOP), whose wait must not trip the socket timeout."""
    timeout = settings.EMSWEB_API_ROUTING_WAIT + 5
    return redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=timeout, socket_connect_timeout=5
    )
