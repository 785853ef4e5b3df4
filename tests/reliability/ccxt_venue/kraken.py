"""Kraken's private REST with a memory; it checks nonces as Kraken does."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from tests.venues.fake_http import FakeExchange, Sent, response
from tests.venues.scripts.kraken import Kraken, kraken_order

from .base import Fault, Held, SimExchange

D = Decimal

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
