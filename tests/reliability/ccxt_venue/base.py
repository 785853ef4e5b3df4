"""A simulated exchange's memory and fault queue, shared by each exchange's simulation."""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from accounts.models import ExchangeAccount
from orders import invariants
from tests.venues.fake_http import FakeExchange, Sent
from tests.venues.scripts.binance import Binance
from tests.venues.scripts.kraken import Kraken

D = Decimal


@dataclass
class Held:
    """One order as the exchange holds it."""

    exchange_order_id: str
    client_id: str
    side: str
    amount: Decimal
    price: Decimal
    status: str = "NEW"  # NEW, PARTIALLY_FILLED, FILLED, CANCELED
    filled: Decimal = D(0)
    trades: dict[str, Decimal] = field(default_factory=dict)


@dataclass
class Fault:
    """What the next create meets: `takes` says whether the exchange keeps the order; the
    answer is (HTTP status, body as JSON, or a str sent as it is)."""

    takes: bool
    status: int
    body: object


class SimExchange:
    code = ""
    script: Kraken | Binance
    create_path = ""

    def __init__(self, fake: FakeExchange):
        self.fake = fake
        self.orders: dict[str, Held] = {}
        self.creates: Counter[str] = Counter()
        self.faults: list[Fault] = []
        self.ids = itertools.count(1)
        self.trade_times: dict[str, float] = {}
        self.lock = threading.Lock()
        self.script.markets(fake)
        self.install()

    # --- the test's handles ----------------------------------------------------------------

    def next_create(self, *, takes: bool, status: int, body: object) -> None:
        self.faults.append(Fault(takes, status, body))

    def fill(self, held: Held, amount: str) -> None:
        """A trade at the venue: `amount` of `held` executes at its price."""
        with self.lock:
            trade_id = self._trade_id(next(self.ids))
            self.trade_times[trade_id] = time.time()
            held.trades[trade_id] = D(amount)
            held.filled += D(amount)
            held.status = "FILLED" if held.filled == held.amount else "PARTIALLY_FILLED"

    def place_by_hand(self, side: str, amount: str, price: str) -> Held:
        """An order placed at the venue outside emsweb (no client order id)."""
        with self.lock:
            held = Held(self._new_id(), "", side, D(amount), D(price))
            self.orders[held.exchange_order_id] = held
        return held

    def cancel_by_hand(self, held: Held) -> None:
        """A cancel at the venue outside emsweb: what has filled stays filled."""
        with self.lock:
            held.status = "CANCELED"

    def held(self, client_id: str) -> Held:
        [held] = [order for order in self.orders.values() if order.client_id == client_id]
        return held

    def record(self, account: ExchangeAccount) -> invariants.VenueRecord:
        """What the checker compares the database with."""
        with self.lock:
            orders = [
                invariants.RecordedOrder(
                    client_order_id=held.client_id,
                    exchange_order_id=held.exchange_order_id,
                    status=held.status,
                    filled=held.filled,
                    trades=dict(held.trades),
                )
                for held in self.orders.values()
            ]
            return invariants.VenueRecord(orders=orders, creates=Counter(self.creates))

    def create_requests(self) -> list[Sent]:
        return self.fake.requests_to(self.create_path, "POST")

    # --- answering --------------------------------------------------------------------------

    def install(self) -> None:
        raise NotImplementedError

    def _create(self, client_id: str, side: str, amount: str, price: str):
        """Record the create; take the order unless a fault refuses it. The fault met, if
        any, and the order taken, if any."""
        with self.lock:
            self.creates[client_id] += 1
            fault = self.faults.pop(0) if self.faults else None
            held = None
            if fault is None or fault.takes:
                held = Held(self._new_id(), client_id, side, D(amount), D(price))
                self.orders[held.exchange_order_id] = held
        return fault, held

    def _new_id(self) -> str:
        raise NotImplementedError

    def _trade_id(self, n: int) -> str:
        return f"T{n:05d}-KRAKN-{n:06d}"
