"""The shared limits in Redis: budget, cancels first, back-off, one request at a time per key,
nonces that only grow. Threads stand in for worker processes: all they share is Redis."""

from __future__ import annotations

import threading
import time

import pytest
import redis
import redis.backoff
import redis.retry

from venues.ccxt import limits
from venues.ccxt.limits import Budget, Gate, next_nonce
from venues.errors import Unreachable


@pytest.fixture
def short_waits(settings):
    settings.EMSWEB_CCXT_MAX_WAIT = 0.3
    settings.EMSWEB_CCXT_CANCEL_RESERVE = 0.5
    settings.EMSWEB_CCXT_BACKOFF_BASE = 5.0
    settings.EMSWEB_CCXT_BACKOFF_MAX = 5.0
    return settings


def test_requests_keep_to_the_rate_across_workers(short_waits):
    short_waits.EMSWEB_CCXT_MAX_WAIT = 5
    budget = Budget("test:rate", rate=20.0, capacity=2.0)
    gates = [Gate(budget, venue="X") for _ in range(3)]
    started = time.monotonic()

    def work(gate):
        for _ in range(4):
            gate.cancel_first = True  # no reserve: only the rate counts here
            with gate.turn(1):
                pass

    threads = [threading.Thread(target=work, args=(gate,)) for gate in gates]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 12 requests, 2 at once, then 20 a second: at least 0.5 s.
    assert time.monotonic() - started >= 0.45


def test_cancels_go_first_when_the_budget_is_short(short_waits):
    budget = Budget("test:reserve", rate=1.0, capacity=4.0)  # reserve: 2
    order_gate, cancel_gate = Gate(budget, venue="X"), Gate(budget, venue="X")
    cancel_gate.cancel_first = True
    with order_gate.turn(2):  # 4 -> 2 left: exactly the reserve
        pass
    # Would eat into the reserve: waits, then is not sent.
    with pytest.raises(Unreachable, match="budget"), order_gate.turn(1):
        pass
    with cancel_gate.turn(1):  # a cancel may
        pass


def test_after_a_rate_limit_answer_the_scope_backs_off(short_waits):
    gate = Gate(Budget("test:backoff", rate=100.0, capacity=10.0), venue="X")
    seconds = gate.back_off()
    assert 2.5 <= seconds <= 7.5  # 5 s, jittered by half
    with pytest.raises(Unreachable, match="backing off"), gate.turn(1):
        pass


def test_one_request_at_a_time_on_one_key(short_waits):
    short_waits.EMSWEB_CCXT_MAX_WAIT = 10
    budget = Budget("test:lock", rate=1000.0, capacity=1000.0)
    spans: list[tuple[float, float]] = []

    def work():
        gate = Gate(budget, venue="X", lock_scope="kraken:key-1")
        for _ in range(5):
            with gate.turn(1):
                start = time.monotonic()
                time.sleep(0.01)
                spans.append((start, time.monotonic()))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    spans.sort()
    assert len(spans) == 20
    assert all(
        end <= next_start for (_, end), (next_start, _) in zip(spans, spans[1:], strict=False)
    )


def test_a_key_held_too_long_elsewhere_means_not_sent(short_waits):
    budget = Budget("test:busy", rate=1000.0, capacity=1000.0)
    holder = Gate(budget, venue="X", lock_scope="kraken:key-2")
    waiter = Gate(budget, venue="X", lock_scope="kraken:key-2")
    with holder.turn(1), pytest.raises(Unreachable, match="busy"), waiter.turn(1):
        pass


def test_nonces_only_grow_even_when_a_clock_is_behind():
    first = next_nonce("test:key", 1_795_400_000_000)
    behind = next_nonce("test:key", 1_795_399_000_000)
    assert behind == first + 1
    assert next_nonce("test:key", 1_795_500_000_000) == 1_795_500_000_000


def test_without_redis_nothing_is_sent(short_waits, monkeypatch):
    no_retry = redis.retry.Retry(redis.backoff.NoBackoff(), 0)
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=no_retry)
    monkeypatch.setattr(limits, "redis_client", lambda: dead)
    gate = Gate(Budget("test:dead", rate=1.0, capacity=2.0), venue="X", lock_scope="k")
    with pytest.raises(Unreachable, match="not sent"), gate.turn(1):
        pass
