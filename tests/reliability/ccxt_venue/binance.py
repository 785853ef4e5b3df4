"""Binance's spot REST with a memory and a request-weight limit."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from tests.venues.fake_http import FakeExchange, Sent, response
from tests.venues.scripts.binance import Binance

from .base import Held, SimExchange

D = Decimal


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
        for (method, path), answer in self.routes().items():
            self.fake.on(method, path, answer=self._limited(answer))

    def routes(self) -> dict[tuple[str, str], Callable[[Sent], object]]:
        return {
            ("POST", "/api/v3/order"): self._new_order,
            ("GET", "/api/v3/order"): self._query_order,
            ("DELETE", "/api/v3/order"): self._cancel_order,
            ("GET", "/api/v3/openOrders"): self._open_orders,
            ("GET", "/api/v3/myTrades"): self._my_trades,
            ("GET", "/api/v3/account"): lambda request: self._account(),
        }

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
        return self._created(held)

    def _created(self, held: Held) -> dict:
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
        # orderId (with symbol) narrows the list to that order's trades, as Binance documents.
        wanted = request.params.get("orderId")
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
                if wanted is None or held.exchange_order_id == str(wanted)
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
