"""Exchanges with a memory, for the ccxt-path scenarios: Kraken's and Binance's private REST
answered from the orders they took, at the requests edge (tests/venues/fake_http.py), so ccxt's
own signing, request building, error mapping and parsing run.

Each keeps what the checker (orders.invariants) compares the database with: the orders it
holds, the trades it made, and every create request it received. Faults are queued per create
(`next_create`); a fault either takes the order and spoils the answer, or refuses it.
Kraken checks nonces as Kraken does: each above the last one seen for the key.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
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
from tests.venues.fake_http import FakeExchange, Sent, response
from tests.venues.scripts.binance import Binance
from tests.venues.scripts.kraken import Kraken, kraken_order
from venues.base import VenueBalance

D = Decimal
TAKE = "take"  # a fault that takes the order, then answers badly
REFUSE = "refuse"  # a fault that does not take it


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


# --- Kraken -----------------------------------------------------------------------------------

KRAKEN_STATUS = {"NEW": "open", "PARTIALLY_FILLED": "open", "FILLED": "closed"}


def kraken(result) -> dict:
    return {"error": [], "result": result}


class SimKraken(SimExchange):
    code = "KRAKEN"
    script = Kraken()
    create_path = "/0/private/AddOrder"

    def __init__(self, fake: FakeExchange):
        self.nonces: dict[str, int] = {}
        self.nonce_errors = 0
        self.key_revoked = False
        super().__init__(fake)

    def install(self) -> None:
        private = {
            "AddOrder": self._add_order,
            "OpenOrders": lambda form: kraken({"open": self._listed(form, open_=True)}),
            "ClosedOrders": self._closed_orders,
            "QueryOrders": self._query_orders,
            "CancelOrder": self._cancel_order,
            "TradesHistory": self._trades_history,
            "QueryTrades": self._query_trades,
            "BalanceEx": lambda form: kraken({"ZUSD": {"balance": "100000", "hold_trade": "0"}}),
        }
        for name, answer in private.items():
            self.fake.on("POST", f"/0/private/{name}", answer=self._checked(answer))

    def _checked(self, answer: Callable[[dict], object]) -> Callable[[Sent], object]:
        """Kraken's key and nonce rules: a revoked key is refused; a nonce must be above the
        last one this key used, else the request is refused unprocessed."""

        def respond(request: Sent):
            form = request.form
            key = request.headers.get("API-Key", "")
            nonce = int(form["nonce"])
            if self.key_revoked:
                return {"error": ["EAPI:Invalid key"]}
            with self.lock:
                if nonce <= self.nonces.get(key, 0):
                    self.nonce_errors += 1
                    return {"error": ["EAPI:Invalid nonce"]}
                self.nonces[key] = nonce
            outcome = answer(form)
            if isinstance(outcome, Fault):
                return response(request.url, outcome.body, status=outcome.status)
            return outcome

        return respond

    def _new_id(self) -> str:
        n = next(self.ids)
        return f"O{n:05d}-KRAKN-{n:06d}"

    def _add_order(self, form: dict):
        side, amount, price = form["type"].upper(), form["volume"], form["price"]
        fault, held = self._create(form.get("cl_ord_id", ""), side, amount, price)
        if fault is not None:
            return fault
        return kraken(
            {
                "descr": {"order": f"{form['type']} {amount} XBTUSD @ limit {price}"},
                "txid": [held.exchange_order_id],
            }
        )

    def _listed(self, form: dict, *, open_: bool) -> dict:
        wanted = form.get("cl_ord_id")
        with self.lock:
            return {
                held.exchange_order_id: self._order(held)
                for held in self.orders.values()
                if (held.status in ("NEW", "PARTIALLY_FILLED")) == open_
                and (not wanted or held.client_id == wanted)
            }

    def _closed_orders(self, form: dict) -> dict:
        closed = self._listed(form, open_=False)
        return kraken({"closed": closed, "count": len(closed)})

    def _query_orders(self, form: dict) -> dict:
        with self.lock:
            ids = form["txid"].split(",")
            return kraken({i: self._order(self.orders[i]) for i in ids if i in self.orders})

    def _cancel_order(self, form: dict) -> dict:
        with self.lock:
            held = self.orders.get(form["txid"])
            if held is None:
                return {"error": ["EOrder:Unknown order"]}
            if held.status in ("NEW", "PARTIALLY_FILLED"):
                held.status = "CANCELED"
        return kraken({"count": 1})

    def _trades_history(self, form: dict) -> dict:
        with self.lock:
            trades = self._trades(self.orders.values())
        return kraken({"trades": trades, "count": len(trades)})

    def _query_trades(self, form: dict) -> dict:
        ids = set(form["txid"].split(","))
        with self.lock:
            trades = self._trades(self.orders.values())
        return kraken({tid: trade for tid, trade in trades.items() if tid in ids})

    def _trades(self, orders) -> dict:
        return {
            trade_id: {
                "ordertxid": held.exchange_order_id,
                "postxid": "TKH2SE-M7IF5-CFI7LT",
                "pair": "XXBTZUSD",
                "time": self.trade_times[trade_id],
                "type": held.side.lower(),
                "ordertype": "limit",
                "price": str(held.price),
                "cost": str(amount * held.price),
                "fee": "0.00000",
                "vol": str(amount),
                "margin": "0.00000",
                "maker": True,
                "misc": "",
            }
            for held in orders
            for trade_id, amount in held.trades.items()
        }

    def _order(self, held: Held) -> dict:
        """Kraken's order shape (tests/venues/scripts/kraken.py), with this order's values."""
        side = held.side.lower()
        order = kraken_order(
            held.client_id or None, KRAKEN_STATUS.get(held.status, "canceled"), str(held.filled)
        )
        order["descr"].update(
            type=side,
            price=str(held.price),
            order=f"{side} {held.amount} XBTUSD @ limit {held.price}",
        )
        order.update(
            vol=str(held.amount),
            cost=str(held.filled * held.price),
            price=str(held.price) if held.filled else "0.00000",
        )
        order.pop("trades", None)
        if held.trades:
            order["trades"] = list(held.trades)
        return order


# --- Binance ----------------------------------------------------------------------------------


class SimBinance(SimExchange):
    code = "BINANCE"
    script = Binance()
    create_path = "/api/v3/order"

    def __init__(self, fake: FakeExchange):
        self.limit: tuple[int, float] | None = None  # at most n requests in any s seconds
        self.arrivals: list[float] = []
        self.refuse_next = 0  # answer the next n requests 429, whatever the rate
        self.too_many: list[Sent] = []  # the requests answered 429
        super().__init__(fake)

    def install(self) -> None:
        routes = {
            ("POST", "order"): self._new_order,
            ("GET", "order"): self._query_order,
            ("DELETE", "order"): self._cancel_order,
            ("GET", "openOrders"): self._open_orders,
            ("GET", "myTrades"): self._my_trades,
            ("GET", "account"): lambda request: self._account(),
        }
        for (method, name), answer in routes.items():
            self.fake.on(method, f"/api/v3/{name}", answer=self._limited(answer))

    def _limited(self, answer: Callable[[Sent], object]) -> Callable[[Sent], object]:
        """Binance's request-weight limit: over it, 429 -1003 and nothing done."""

        def respond(request: Sent):
            with self.lock:
                self.arrivals.append(request.at)
                recent = [
                    at for at in self.arrivals if self.limit and at > request.at - self.limit[1]
                ]
                over = self.refuse_next > 0 or (self.limit and len(recent) > self.limit[0])
                self.refuse_next = max(0, self.refuse_next - 1)
                if over:
                    self.too_many.append(request)
            if over:
                body = {"code": -1003, "msg": "Too much request weight used; please use WebSocket."}
                return response(request.url, body, status=429)
            return answer(request)

        return respond

    def _new_id(self) -> str:
        return str(1000 + next(self.ids))

    def _trade_id(self, n: int) -> str:
        return str(n)

    def _new_order(self, request: Sent):
        p = request.params
        fault, held = self._create(
            p.get("newClientOrderId", ""), p["side"], p["quantity"], p["price"]
        )
        if fault is not None:
            return response(request.url, fault.body, status=fault.status)
        return {**self._order(held), "transactTime": 1795400000123, "fills": []}

    def _query_order(self, request: Sent):
        p = request.params
        with self.lock:
            for held in self.orders.values():
                if held.client_id == p.get("origClientOrderId") or held.exchange_order_id == str(
                    p.get("orderId")
                ):
                    return self._order(held)
        return response(request.url, {"code": -2013, "msg": "Order does not exist."}, status=400)

    def _cancel_order(self, request: Sent):
        p = request.params
        with self.lock:
            held = self.orders.get(str(p.get("orderId")))
            if held is None:
                return response(
                    request.url, {"code": -2011, "msg": "Unknown order sent."}, status=400
                )
            if held.status in ("NEW", "PARTIALLY_FILLED"):
                held.status = "CANCELED"
            return {**self._order(held), "origClientOrderId": held.client_id}

    def _open_orders(self, request: Sent):
        with self.lock:
            return [
                self._order(held)
                for held in self.orders.values()
                if held.status in ("NEW", "PARTIALLY_FILLED")
            ]

    def _my_trades(self, request: Sent):
        with self.lock:
            return [
                {
                    "symbol": "BTCUSDT",
                    "id": int(trade_id),
                    "orderId": int(held.exchange_order_id),
                    "orderListId": -1,
                    "price": str(held.price),
                    "qty": str(amount),
                    "quoteQty": str(amount * held.price),
                    "commission": "0",
                    "commissionAsset": "USDT",
                    "time": int(self.trade_times[trade_id] * 1000),
                    "isBuyer": held.side == "BUY",
                    "isMaker": True,
                    "isBestMatch": True,
                }
                for held in self.orders.values()
                for trade_id, amount in held.trades.items()
            ]

    def _account(self) -> dict:
        return {
            "canTrade": True,
            "canWithdraw": False,
            "canDeposit": True,
            "accountType": "SPOT",
            "balances": [
                {"asset": "BTC", "free": "1.00000000", "locked": "0.00000000"},
                {"asset": "USDT", "free": "100000.00000000", "locked": "0.00000000"},
            ],
            "permissions": ["SPOT"],
        }

    def _order(self, held: Held) -> dict:
        return {
            "symbol": "BTCUSDT",
            "orderId": int(held.exchange_order_id),
            "orderListId": -1,
            "clientOrderId": held.client_id,
            "price": str(held.price),
            "origQty": str(held.amount),
            "executedQty": str(held.filled),
            "cummulativeQuoteQty": str(held.filled * held.price),
            "status": held.status,
            "timeInForce": "GTC",
            "type": "LIMIT",
            "side": held.side,
            "stopPrice": "0.00000000",
            "time": 1795400000123,
            "updateTime": 1795400100123,
            "isWorking": True,
        }


# --- a linked account on a simulated exchange -------------------------------------------------

SIMS = {"KRAKEN": SimKraken, "BINANCE": SimBinance}
SYMBOLS = {"KRAKEN": "XXBTZUSD", "BINANCE": "BTCUSDT"}
QUOTES = {"KRAKEN": ("ZUSD", "USD"), "BINANCE": ("USDT", "USDT")}


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
    assert instruments_refresh(venue=venue) == 1
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
