"""Who has what on screen: (account, instrument) pairs in one Redis sorted set, each scored by
when its interest lapses. An open screen refreshes its pair (market.hub); workers read only the
pairs still current (market.feed), so nothing is read for an instrument nobody watches."""

from __future__ import annotations

import redis
import redis.asyncio as aioredis

from market.wire import PREFIX

WATCH_KEY = f"{PREFIX}:watch"
WATCH_SECONDS = 30.0  # an interest not refreshed in this long lapses
REFRESH_EVERY = 10.0  # how often an open screen refreshes it


def member(account_id: int, symbol: str) -> str:
    return f"{account_id}|{symbol}"


def _pair(raw: bytes) -> tuple[int, str] | None:
    account_id, _, symbol = raw.decode().partition("|")
    return (int(account_id), symbol) if account_id.isdigit() and symbol else None


async def watch(client: aioredis.Redis, pairs: set[tuple[int, str]], *, now: float) -> None:
    """These pairs are on a screen of this process, for WATCH_SECONDS more."""
    if pairs:
        lapses = now + WATCH_SECONDS
        await client.zadd(WATCH_KEY, {member(*pair): lapses for pair in pairs})


def watched(client: redis.Redis, *, now: float) -> list[tuple[int, str]]:
    """The (account id, symbol) pairs on some screen now; lapsed ones are forgotten."""
    with client.pipeline() as pipe:
        pipe.zremrangebyscore(WATCH_KEY, "-inf", now)
        pipe.zrange(WATCH_KEY, 0, -1)
        _, members = pipe.execute()
    return sorted(pair for pair in map(_pair, members) if pair is not None)
