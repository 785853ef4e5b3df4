"""RELIABILITY.md §7 #18 on the ccxt path: concurrent private calls on one Kraken key from
several worker processes never meet "EAPI:Invalid nonce".

The simulated Kraken checks nonces as Kraken does (each above the last one the key used, else
refused unprocessed) and answers over HTTP on localhost, so that separate processes, sharing
only Redis, call it at once, each through its own adapter and ccxt instance; meanwhile this
process routes an order on the same key. Serialization per key (venues/ccxt/limits.py) is what
keeps the nonces in order: the test fails if it breaks."""

from __future__ import annotations

import multiprocessing

import pytest

from orders.services import order_route
from tests.reliability.ccxt_venue import ccxt_fake_fixture, sim_account, sim_submit  # noqa: F401
from tests.reliability.conftest import assert_invariants
from tests.venues.conftest import ccxt_settings, fake  # noqa: F401
from tests.venues.fake_http import forward, served
from tests.venues.scripts.kraken import Kraken
from venues.base import OrdStatus
from venues.ccxt import connection
from venues.errors import VenueError
from venues.registry import adapter_class

S = OrdStatus
pytestmark = pytest.mark.django_db
WORKERS = 4
CALLS = 12


def worker(server_url: str, account_key: str, results) -> None:
    """A worker process's private calls on the key: open orders, a lookup, trades."""
    forward(server_url)
    connection.reset()  # its own ccxt instances; markets come from Redis, as in a worker
    venue = adapter_class("KRAKEN")(account_key=account_key, credentials=Kraken.credentials)
    problems = []
    for n in range(CALLS):
        try:
            (venue.open_orders, venue.fills_since, venue.lookup)[n % 3](
                *[(), (None,), ("absent", "XXBTZUSD")][n % 3]
            )
        except VenueError as problem:
            problems.append(problem.message)
    results.put(problems)


@pytest.mark.fault(18, "private calls at once on one Kraken key from several processes")
def test_concurrent_calls_on_one_kraken_key_from_several_processes_meet_no_nonce_error(
    ccxt_fake, settings
):
    settings.EMSWEB_CCXT_MAX_WAIT = 20.0  # every call gets its turn, however busy the key
    sim, account = sim_account(ccxt_fake, "KRAKEN")
    order = sim_submit(account, "amid-the-calls")
    sent_before = len(ccxt_fake.sent)
    context = multiprocessing.get_context("fork")
    results = context.Queue()

    with served(ccxt_fake) as server_url:
        workers = [
            context.Process(target=worker, args=(server_url, account.exchange_id, results))
            for _ in range(WORKERS)
        ]
        for process in workers:
            process.start()
        order_route(order_id=order.pk)  # this process trades on the key meanwhile
        problems = [results.get(timeout=120) for _ in workers]
        for process in workers:
            process.join(timeout=30)

    assert [process.exitcode for process in workers] == [0] * WORKERS
    assert ccxt_fake.unanswered == []
    assert problems == [[]] * WORKERS
    assert sim.nonce_errors == 0
    private = [r for r in ccxt_fake.sent[sent_before:] if r.path.startswith("/0/private/")]
    assert len(private) >= WORKERS * CALLS + 1
    nonces = [int(request.form["nonce"]) for request in private]
    assert len(set(nonces)) == len(nonces), "every request signed with its own nonce"
    order.refresh_from_db()
    assert order.status == S.NEW
    assert_invariants(account)
