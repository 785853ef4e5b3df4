from __future__ import annotations

import pytest
import requests

from emsweb.redis import redis_client
from tests.venues.fake_http import FakeExchange
from venues.ccxt import adapter, connection


@pytest.fixture(autouse=True)
def ccxt_settings(settings):
    """Short waits, so that a test about giving up does not wait long; and nothing left over
    from another test in this process's caches or in Redis."""
    settings.EMSWEB_CCXT_TIMEOUT = 5.0
    settings.EMSWEB_CCXT_MAX_WAIT = 2.0
    settings.EMSWEB_CCXT_BURST_SECONDS = 600.0  # limits are tested on their own
    settings.EMSWEB_CCXT_BACKOFF_BASE = 0.2
    settings.EMSWEB_CCXT_BACKOFF_MAX = 1.0
    # The scripts' trades carry fixed times (November 2026): a first fills read must reach
    # back to them whatever day the tests run.
    settings.EMSWEB_CCXT_FILLS_LOOKBACK = 10 * 365 * 86400.0
    settings.EMSWEB_CCXT_VENUES = {}
    settings.EMSWEB_HOSTED_EMS_VENUES = {}
    connection.reset()
    adapter._ticker_cache.clear()
    forget_shared_state()
    yield settings
    connection.reset()
    # Rolled-back tests give their ids out again: leave no per-order or per-account state in
    # Redis (routing notifications, reconciled marks, sync locks) for a later test to inherit.
    forget_shared_state()


def forget_shared_state() -> None:
    client = redis_client()
    for pattern in (
        "emsweb:ccxt:*",
        "emsweb:routed:*",
        "emsweb:reconciled:*",
        "emsweb:sync-lock:*",
    ):
        for key in client.scan_iter(pattern):
            client.delete(key)


@pytest.fixture
def fake(monkeypatch) -> FakeExchange:
    """Every HTTP request any requests.Session makes is answered here, or fails the test."""
    exchange = FakeExchange()

    def request(session, *args, **kwargs):
        return exchange(session, *args, **kwargs)

    monkeypatch.setattr(requests.Session, "request", request)
    return exchange
