"""Shared request budgets in Redis, so that every worker process together keeps to a venue's limits.

- A token bucket per scope (one per exchange and key for private calls, one per exchange for
  public ones), refilled at ccxt's own rate (`rateLimit` ms per unit of cost). Calls other than
  cancels leave a reserve in the bucket, so cancels go first when the budget is short. Market
  data (the trading screen's book and candles) comes last: it leaves a larger reserve and never
  waits, so it cannot delay an order, a cancel or a sync; it is simply not read this time.
- A back-off per scope after a 429 or ban answer, exponential with jitter.
- A lock per exchange key around each private request: one request at a time on one key,
  across workers and machines (Kraken refuses nonces that arrive out of order).
- A nonce per exchange key that only grows, whichever process signs.

Redis's own clock is used, so workers on machines whose clocks differ share one timeline.
Waiting is bounded: a request that cannot get its turn in time is not sent (Unreachable).
"""

from __future__ import annotations

import contextlib
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import redis
from django.conf import settings

from emsweb.redis import redis_client
from venues.errors import Unreachable

PREFIX = "emsweb:ccxt"
POLL_SECONDS = 0.02

# Refill, then take `cost` if `cost + reserve` is there; else the ms to wait. Redis's clock.
TAKE = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local rate, capacity = tonumber(ARGV[1]), tonumber(ARGV[2])
local cost, reserve = tonumber(ARGV[3]), tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now_ms
tokens = math.min(capacity, tokens + math.max(0, now_ms - at) * rate)
-- A call costing more than the bucket holds goes when the bucket is full, leaving a debt.
local need = math.min(cost + reserve, capacity)
local wait = 0
if tokens >= need then
  tokens = tokens - cost
else
  wait = math.ceil((need - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now_ms))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate) + 60000)
return wait
"""
# The next nonce: at least the candidate, and above every nonce handed out before.
NONCE = """
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local candidate = tonumber(ARGV[1])
local nonce = math.max(candidate, last + 1)
redis.call('SET', KEYS[1], string.format('%.0f', nonce), 'EX', 86400 * 30)
return string.format('%.0f', nonce)
"""
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Throttled(Unreachable):
    """Not sent: the budget, a back-off or the key held the request back for too long."""


@dataclass(frozen=True)
class Budget:
    """One scope's limits: `rate` units of cost per second, up to `capacity` at once."""

    scope: str
    rate: float
    capacity: float

    @classmethod
    def for_exchange(cls, scope: str, rate_limit_ms: float) -> Budget:
        rate = 1000 / max(rate_limit_ms, 1)
        return cls(scope, rate, max(2.0, rate * settings.EMSWEB_CCXT_BURST_SECONDS))

    @property
    def reserve(self) -> float:
        """What calls other than cancels must leave in the bucket."""
        return self.capacity * settings.EMSWEB_CCXT_CANCEL_RESERVE

    @property
    def market_data_reserve(self) -> float:
        """What market data must leave in the bucket: more than any other call."""
        return max(self.reserve, self.capacity * settings.EMSWEB_CCXT_MARKET_DATA_RESERVE)


class Gate:
    """The way out to one exchange scope: budget, back-off, and for private calls the key lock."""

    def __init__(
        self, budget: Budget, *, venue: str, lock_scope: str = "", market_data: bool = False
    ):
        self.budget = budget
        self.venue = venue
        self.lock_scope = lock_scope
        self.cancel_first = False  # set while a cancel is being sent
        self.market_data = market_data  # the lowest priority: a larger reserve, no waiting

    @contextlib.contextmanager
    def turn(self, cost: float) -> Iterator[None]:
        """Wait for budget and, for a private scope, for the key; then let one request go."""
        wait = 0.0 if self.market_data else settings.EMSWEB_CCXT_MAX_WAIT
        deadline = time.monotonic() + wait
        try:
            self._wait_out_backoff(deadline)
            self._take(max(cost, 0.0), deadline)
            with self._key_lock(deadline):
                # A 429 may have come back while this call waited for the key: it waits too,
                # rather than follow the refused request at once.
                self._wait_out_backoff(deadline)
                yield
        except redis.RedisError as error:
            raise Unreachable(
                f"{self.venue}: not sent, shared limits unavailable ({error})"
            ) from None

    def back_off(self) -> float:
        """Record a 429 or ban answer: nobody calls this scope for a while. Returns seconds."""
        client = redis_client()
        strikes_key = f"{PREFIX}:strikes:{self.budget.scope}"
        strikes = client.incr(strikes_key)
        client.expire(strikes_key, int(settings.EMSWEB_CCXT_BACKOFF_MAX * 4) + 60)
        base = settings.EMSWEB_CCXT_BACKOFF_BASE * 2 ** min(strikes - 1, 10)
        seconds = min(settings.EMSWEB_CCXT_BACKOFF_MAX, base) * random.uniform(0.5, 1.5)
        client.set(f"{PREFIX}:backoff:{self.budget.scope}", "1", px=max(1, int(seconds * 1000)))
        return seconds

    def _wait_out_backoff(self, deadline: float) -> None:
        remaining_ms = redis_client().pttl(f"{PREFIX}:backoff:{self.budget.scope}")
        if remaining_ms is None or remaining_ms <= 0:
            return
        if time.monotonic() + remaining_ms / 1000 > deadline:
            raise Throttled(
                f"{self.venue}: not sent, backing off after a rate-limit answer "
                f"({remaining_ms / 1000:.1f} s left)"
            )
        time.sleep(remaining_ms / 1000)

    def _take(self, cost: float, deadline: float) -> None:
        if self.cancel_first:
            reserve = 0.0
        elif self.market_data:
            reserve = self.budget.market_data_reserve
        else:
            reserve = self.budget.reserve
        take = redis_client().register_script(TAKE)
        while True:
            wait_ms = int(
                take(
                    keys=[f"{PREFIX}:budget:{self.budget.scope}"],
                    args=[self.budget.rate / 1000, self.budget.capacity, cost, reserve],
                )
            )
            if wait_ms <= 0:
                return
            if time.monotonic() + wait_ms / 1000 > deadline:
                raise Throttled(f"{self.venue}: not sent, request budget exhausted")
            time.sleep(wait_ms / 1000)

    @contextlib.contextmanager
    def _key_lock(self, deadline: float) -> Iterator[None]:
        if not self.lock_scope:
            yield
            return
        client = redis_client()
        key = f"{PREFIX}:lock:{self.lock_scope}"
        token = uuid.uuid4().hex
        # Held for one request at most; it expires on its own if this process dies.
        hold_ms = int((settings.EMSWEB_CCXT_TIMEOUT + 5) * 1000)
        while not client.set(key, token, nx=True, px=hold_ms):
            if time.monotonic() > deadline:
                raise Throttled(f"{self.venue}: not sent, the key is busy in another worker")
            time.sleep(POLL_SECONDS)
        try:
            yield
        finally:
            with contextlib.suppress(redis.RedisError):
                client.register_script(RELEASE)(keys=[key], args=[token])


def next_nonce(scope: str, candidate: int) -> int:
    """A nonce for this key above every one issued before, in whichever process."""
    script = redis_client().register_script(NONCE)
    return int(script(keys=[f"{PREFIX}:nonce:{scope}"], args=[int(candidate)]))
