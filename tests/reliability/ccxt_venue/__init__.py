"""Exchanges with a memory, for the ccxt-path scenarios: Kraken's, Binance's and Binance USDⓈ-M
futures' (a derivatives venue, with positions) private REST
answered from the orders they took, at the requests edge (tests/venues/fake_http.py), so ccxt's
own signing, request building, error mapping and parsing run.

Each keeps what the checker (orders.invariants) compares the database with: the orders it
holds, the trades it made, and every create request it received. Faults are queued per create
(`next_create`); a fault either takes the order and spoils the answer, or refuses it.
Kraken checks nonces as Kraken does: each above the last one seen for the key.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.models import ExchangeAccount
from accounts.services import account_link, balances_record
from orders import invariants
from orders.instruments import instruments_refresh
from orders.models import Order
from orders.services import OrderTicket, order_submit
from orders.sync import account_sync
from tests.conftest import wait_for
from tests.venues.fake_http import FakeExchange
from venues.base import VenueBalance

from .base import Held, SimExchange
from .binance import SimBinance
from .binance_usdm import SimBinanceFts
from .kraken import SimKraken

D = Decimal
__all__ = ["Held", "SimBinance", "SimBinanceFts", "SimExchange", "SimKraken"]

SIMS = {"KRAKEN": SimKraken, "BINANCE": SimBinance, "BINANCEFTS": SimBinanceFts}
SYMBOLS = {"KRAKEN": "XXBTZUSD", "BINANCE": "BTCUSDT", "BINANCEFTS": "BTCUSDT"}
QUOTES = {"KRAKEN": ("ZUSD", "USD"), "BINANCE": ("USDT", "USDT"), "BINANCEFTS": ("USDT", "USDT")}
# The venues each fault scenario runs on: the spot ones, and a derivatives one.
VENUES = ["KRAKEN", "BINANCE", "BINANCEFTS"]


@pytest.fixture(name="ccxt_fake")
def ccxt_fake_fixture(fake, ccxt_settings, settings):
    """The exchanges' HTTP answered here (tests/venues' `fake`, with its clean ccxt state), and
    reconciliation without waiting: a ROUTING order is looked up on the next sync. A module
    using it imports this, and `fake` and `ccxt_settings` from tests.venues.conftest."""
    settings.EMSWEB_RECONCILE_AFTER = 0
    yield fake
    for venue in SIMS:
        invariants.record_source_set(venue, None)


def sim_account(fake: FakeExchange, venue: str) -> tuple[SimExchange, ExchangeAccount]:
    """The simulated exchange, and an account linked to it, synced once (trading open)."""
    sim = SIMS[venue](fake)
    invariants.record_source_set(venue, sim.record)
    assert instruments_refresh(venue=venue) >= 1  # a derivatives venue: a future too
    account, _ = account_link(exchange_id=f"{venue}/FAULTS", parameters=sim.script.credentials)
    asset, common = QUOTES[venue]
    balances_record(
        account=account,
        balances=[VenueBalance(asset, D(100000), D(100000), D(0), asset_common=common)],
    )
    # Linking queued a first sync: a worker, if one runs, may hold the account's sync lock.
    wait_for(lambda: account_sync(account_id=account.pk), what="a first sync of our own")
    return sim, account


def sim_submit(account: ExchangeAccount, client_order_id: str, **fields) -> Order:
    values = {"side": "BUY", "amount": "0.01", "price": "50000", **fields}
    ticket = OrderTicket(client_order_id, SYMBOLS[account.venue], **values)
    return order_submit(account=account, ticket=ticket)
