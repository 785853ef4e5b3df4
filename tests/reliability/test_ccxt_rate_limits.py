"""RELIABILITY.md §7 #17 on the ccxt path: rate limits.

- A create answered 429 (Binance) or "EAPI:Rate limit exceeded" (Kraken; ccxt's DDoSProtection)
  is an unknown outcome, reconciled by the sync like any other: found, or never placed after N
  lookups. One create, and the key backs off.
- A burst of 3x the venue's limit through the shared per-key limiter (several adapters on one
  key, as several workers would be): the venue never has to answer 429, and its request log
  never shows more than the configured budget allows.
- After a 429, nobody on the key follows at once: every later request waits out the back-off
  (exponential, with jitter), including those already queued for the key."""

from __future__ import annotations

import threading

import ccxt
import pytest

from emsweb.redis import redis_client
from orders.models import RejectReason
from orders.services import order_route
from orders.sync import account_sync
from tests.reliability.ccxt_venue import ccxt_fake_fixture, sim_account, sim_submit  # noqa: F401
from tests.reliability.conftest import assert_invariants
from tests.venues.conftest import ccxt_settings, fake  # noqa: F401
from tests.venues.scripts.binance import Binance
from venues.base import OrdStatus
from venues.ccxt.limits import PREFIX, Budget
from venues.errors import VenueError
from venues.registry import adapter_class

S = OrdStatus
pytestmark = pytest.mark.django_db
WORKERS = 4

RATE_LIMITED = {
    "BINANCE": (429, {"code": -1003, "msg": "Too much request weight used."}),
    "KRAKEN": (200, {"error": ["EAPI:Rate limit exceeded"]}),
    "BINANCEFTS": (429, {"code": -1003, "msg": "Too many requests; current limit is 2400."}),
}
CASES = [(venue, takes) for venue in RATE_LIMITED for takes in (True, False)]


def backing_off() -> list[bytes]:
    return list(redis_client().scan_iter(f"{PREFIX}:backoff:*"))


@pytest.mark.fault(17, "429 / rate limit exceeded on create")
@pytest.mark.parametrize(
    ("venue", "takes"), CASES, ids=[f"{v}-{'taken' if t else 'not taken'}" for v, t in CASES]
)
def test_a_create_answered_429_is_unknown_then_reconciled_with_one_create(
    ccxt_fake, settings, venue, takes
):
    settings.EMSWEB_NEVER_PLACED_AFTER = 0
    settings.EMSWEB_NOT_FOUND_LOOKUPS = 2
    sim, account = sim_account(ccxt_fake, venue)
    sim.next_create(takes=takes, status=RATE_LIMITED[venue][0], body=RATE_LIMITED[venue][1])
    order = sim_submit(account, "rate-limited")

    order_route(order_id=order.pk)

    order.refresh_from_db()
    assert order.status == S.ROUTING and order.outcome_unknown_at is not None
    assert backing_off(), "the key backs off after a rate-limit answer"
    for _ in range(settings.EMSWEB_NOT_FOUND_LOOKUPS):
        account_sync(account_id=account.pk)
    order.refresh_from_db()
    if takes:
        assert order.status == S.NEW
        assert order.exchange_order_id == sim.held("rate-limited").exchange_order_id
    else:
        assert (order.status, order.reject_reason) == (S.REJECTED, RejectReason.NEVER_PLACED)
    assert S.REJECTED not in order.events.exclude(note__startswith="Never placed").values_list(
        "status", flat=True
    )
    assert len(sim.create_requests()) == 1
    assert_invariants(account)


def burst(account, calls_each: int) -> list[str]:
    """WORKERS adapters on the account's key (one ccxt instance each, as in separate worker
    processes; all they share is Redis) look an order up `calls_each` times each, at once.
    Returns what was not sent or failed."""
    credentials = Binance.credentials
    venue_class = adapter_class(account.venue)
    problems: list[str] = []

    def work(n: int) -> None:
        venue = venue_class(account_key=f"{account.exchange_id}-{n}", credentials=credentials)
        for _ in range(calls_each):
            try:
                venue.lookup("absent", "BTCUSDT")
            except VenueError as problem:
                problems.append(problem.message)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return problems


def budget_of_key() -> tuple[float, float]:
    """The configured budget of a Binance key, in requests of the order lookup the burst sends:
    (requests per second, requests at once). ccxt weighs Binance's
    `GET /api/v3/order` below one unit (0.8 today), so more lookups than units may go."""
    exchange = ccxt.binance()
    budget = Budget.for_exchange("any", exchange.rateLimit)
    cost = exchange.calculate_rate_limiter_cost(
        "private", "GET", "order", {}, exchange.api["private"]["get"]["order"]
    )
    return budget.rate / cost, budget.capacity / cost


@pytest.mark.fault(17, "a burst of 3x the venue's limit on one key")
def test_a_burst_of_three_times_the_limit_keeps_to_the_budget_and_is_never_refused(
    ccxt_fake, settings
):
    settings.EMSWEB_CCXT_BURST_SECONDS = 0.1
    settings.EMSWEB_CCXT_MAX_WAIT = 10.0
    sim, account = sim_account(ccxt_fake, "BINANCE")
    rate, capacity = budget_of_key()
    window = 0.5
    # The venue allows what the budget allows in a window, plus one request per worker that
    # had its turn and was waiting for the key: more than that is 429.
    allowed = int(capacity + rate * window) + WORKERS
    sim.limit = (allowed, window)
    sim.arrivals.clear()
    calls_each = 3 * allowed // WORKERS + 1

    problems = burst(account, calls_each)

    assert problems == []
    assert sim.too_many == [], "no 429 (and so no ban) from the venue"
    sent = sorted(request.at for request in ccxt_fake.requests_to("/api/v3/order", "GET"))
    assert len(sent) == WORKERS * calls_each >= 3 * allowed
    for span in (0.25, window, 1.0):
        busiest = max(sum(1 for t in sent if start <= t < start + span) for start in sent)
        assert busiest <= capacity + rate * span + WORKERS, (span, busiest)
    assert_invariants(account)


@pytest.mark.fault(17, "a 429 in the middle of a burst")
def test_after_a_429_every_request_on_the_key_waits_out_the_backoff(ccxt_fake, settings):
    settings.EMSWEB_CCXT_BACKOFF_BASE = 0.4
    settings.EMSWEB_CCXT_MAX_WAIT = 10.0
    sim, account = sim_account(ccxt_fake, "BINANCE")
    sim.arrivals.clear()
    sim.refuse_next = 1

    burst(account, 3)

    [refused] = sim.too_many
    later = [at for at in sim.arrivals if at > refused.at]
    assert len(sim.arrivals) == 3 * WORKERS, "no retries: one request per call"
    # The back-off lasts BASE x a jitter in [0.5, 1.5]: nobody followed sooner.
    assert min(later) - refused.at >= 0.5 * settings.EMSWEB_CCXT_BACKOFF_BASE
    assert_invariants(account)
