"""Binance USDⓈ-M futures (fapi) with a memory: the spot simulation's orders, trades, faults and
request-weight limit, on /fapi/v1, with a position per contract that its fills move (one-way
mode), reported by GET /fapi/v2/positionRisk."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from accounts.models import ExchangeAccount
from orders import invariants
from tests.venues.fake_http import FakeExchange, Sent
from tests.venues.scripts.binance_usdm import BinanceFts, position_risk

from .base import Held
from .binance import SimBinance

D = Decimal
SYMBOL = "BTCUSDT"


class SimBinanceFts(SimBinance):
    code = "BINANCEFTS"
    script = BinanceFts()
    create_path = "/fapi/v1/order"

    def __init__(self, fake: FakeExchange):
        self.moved_by_hand = D(0)  # a liquidation or a trade elsewhere: no fill of ours
        super().__init__(fake)

    def routes(self) -> dict[tuple[str, str], Callable[[Sent], object]]:
        return {
            ("POST", "/fapi/v1/order"): self._new_order,
            ("GET", "/fapi/v1/order"): self._query_order,
            ("DELETE", "/fapi/v1/order"): self._cancel_order,
            ("GET", "/fapi/v1/openOrders"): self._open_orders,
            ("GET", "/fapi/v1/userTrades"): self._my_trades,
            ("GET", "/fapi/v1/leverageBracket"): lambda request: [],
            ("GET", "/fapi/v2/positionRisk"): self._positions,
            ("GET", "/fapi/v3/account"): self._margin_account,
        }

    # --- the test's handles ---------------------------------------------------------------

    def position(self) -> Decimal:
        """The signed position its trades (and moves by hand) add up to."""
        with self.lock:
            return self._position()

    def move_by_hand(self, amount: str) -> None:
        """The position changes with no trade of the account's orders (a liquidation)."""
        with self.lock:
            self.moved_by_hand += D(amount)

    def record(self, account: ExchangeAccount) -> invariants.VenueRecord:
        record = super().record(account)
        position = self.position()
        positions = {SYMBOL: position} if position else {}
        return invariants.VenueRecord(
            orders=record.orders, creates=record.creates, positions=positions
        )

    # --- answering --------------------------------------------------------------------------

    def _position(self) -> Decimal:
        net = self.moved_by_hand
        for held in self.orders.values():
            net += held.filled if held.side == "BUY" else -held.filled
        return net

    def _positions(self, request: Sent):
        with self.lock:
            size = self._position()
        if not size:
            return []  # ccxt leaves out what has no entry price
        return [position_risk(SYMBOL, str(size), leverage="10", margin_type="cross")]

    def _margin_account(self, request: Sent):
        asset = {
            "asset": "USDT",
            "walletBalance": "100000.00000000",
            "unrealizedProfit": "0.00000000",
            "marginBalance": "100000.00000000",
            "maintMargin": "0.00000000",
            "initialMargin": "0.00000000",
            "positionInitialMargin": "0.00000000",
            "openOrderInitialMargin": "0.00000000",
            "crossWalletBalance": "100000.00000000",
            "crossUnPnl": "0.00000000",
            "availableBalance": "100000.00000000",
            "maxWithdrawAmount": "100000.00000000",
            "updateTime": 1795400100123,
        }
        return {"assets": [asset], "positions": []}

    def _my_trades(self, request: Sent):
        wanted = request.params.get("orderId")
        with self.lock:
            return [
                {
                    "buyer": held.side == "BUY",
                    "commission": "0",
                    "commissionAsset": "USDT",
                    "id": int(trade_id),
                    "maker": True,
                    "orderId": int(held.exchange_order_id),
                    "price": str(held.price),
                    "qty": str(amount),
                    "quoteQty": str(amount * held.price),
                    "realizedPnl": "0",
                    "side": held.side,
                    "positionSide": "BOTH",
                    "symbol": SYMBOL,
                    "time": int(self.trade_times[trade_id] * 1000),
                }
                for held in self.orders.values()
                if wanted is None or held.exchange_order_id == str(wanted)
                for trade_id, amount in held.trades.items()
            ]

    def _order(self, held: Held) -> dict:
        return {
            "avgPrice": str(held.price) if held.filled else "0",
            "clientOrderId": held.client_id,
            "cumQuote": str(held.filled * held.price),
            "executedQty": str(held.filled),
            "orderId": int(held.exchange_order_id),
            "origQty": str(held.amount),
            "origType": "LIMIT",
            "price": str(held.price),
            "reduceOnly": False,
            "side": held.side,
            "positionSide": "BOTH",
            "status": held.status,
            "stopPrice": "0",
            "closePosition": False,
            "symbol": SYMBOL,
            "time": 1795400000123,
            "timeInForce": "GTC",
            "type": "LIMIT",
            "updateTime": 1795400100123,
            "workingType": "CONTRACT_PRICE",
            "priceProtect": False,
        }

    def _created(self, held: Held) -> dict:
        return self._order(held)
