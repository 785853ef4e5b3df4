"""Deribit API v2 over HTTP (docs.deribit.com): answers of the documented JSON-RPC shapes.

The shared suite trades the USDC linear perpetual (amounts in BTC); the inverse BTC-PERPETUAL and
BTC-27DEC26 (amounts in USD, lots of 10) have tests of their own."""

from __future__ import annotations

from tests.venues.fake_http import FakeExchange, Sent

from .base import D, DerivativesScript

API = "/api/v2"
ORDER_ID = "USDC-5702446785"
PLACED = 1795400000123
FILLED = 1795400050880
PERPETUAL_EXPIRY = 32503708800000  # Deribit's expiration_timestamp of a perpetual


def rpc(result) -> dict:
    return {
        "jsonrpc": "2.0",
        "result": result,
        "usIn": 1795400100123456,
        "usOut": 1795400100123789,
        "usDiff": 333,
        "testnet": False,
    }


def rpc_error(code: int, message: str) -> dict:
    return {
        "jsonrpc": "2.0",
        "error": {"message": message, "code": code},
        "usIn": 1795400100123456,
        "usOut": 1795400100123789,
        "usDiff": 333,
        "testnet": False,
    }


def instrument(name: str, base: str, counter: str, settle: str, **fields) -> dict:
    """One instrument of public/get_instruments."""
    linear = counter == settle
    return {
        "tick_size": 0.5,
        "tick_size_steps": [],
        "taker_commission": 0.0005,
        "settlement_period": "perpetual",
        "settlement_currency": settle,
        "quote_currency": counter,
        "price_index": f"{base.lower()}_{counter.lower()}",
        "min_trade_amount": 0.0001 if linear else 10,
        "max_liquidation_commission": 0.0075,
        "max_leverage": 50,
        "maker_commission": 0.0,
        "kind": "future",
        "is_active": True,
        "instrument_name": name,
        "instrument_id": 210838,
        "instrument_type": "linear" if linear else "reversed",
        "future_type": "linear" if linear else "reversed",
        "expiration_timestamp": PERPETUAL_EXPIRY,
        "creation_timestamp": 1634740231000,
        "counter_currency": counter,
        "contract_size": 0.001 if linear else 10,
        "block_trade_tick_size": 0.01,
        "block_trade_min_trade_amount": 200000,
        "block_trade_commission": 0.00025,
        "base_currency": base,
        **fields,
    }


def deribit_order(client_id: str, state: str, filled: str, **fields) -> dict:
    """An order of private/buy, cancel, get_order_state(_by_label) and get_open_orders."""
    executed = D(filled)
    return {
        "web": False,
        "time_in_force": "good_til_cancelled",
        "risk_reducing": False,
        "replaced": False,
        "reduce_only": False,
        "price": 50000.0,
        "post_only": False,
        "order_type": "limit",
        "order_state": state,
        "order_id": ORDER_ID,
        "mmp": False,
        "max_show": 0.01,
        "last_update_timestamp": FILLED if executed else PLACED,
        "label": client_id,
        "is_rebalance": False,
        "is_liquidation": False,
        "instrument_name": "BTC_USDC-PERPETUAL",
        "filled_amount": float(filled),
        "direction": "buy",
        "creation_timestamp": PLACED,
        "average_price": 50000.0 if executed else 0.0,
        "api": True,
        "amount": 0.01,
        "contracts": 10.0,
        **fields,
    }


def deribit_trade(trade_id: str, amount: str, maker: bool) -> dict:
    """A trade of private/get_user_trades_by_order and _by_instrument(_and_time)."""
    return {
        "trade_seq": 1966031,
        "trade_id": trade_id,
        "timestamp": FILLED,
        "tick_direction": 0,
        "state": "filled",
        "self_trade": False,
        "risk_reducing": False,
        "reduce_only": False,
        "profit_loss": 0.0,
        "price": 50000.0,
        "post_only": False,
        "order_type": "limit",
        "order_id": ORDER_ID,
        "mmp": False,
        "matching_id": None,
        "mark_price": 50010.0,
        "liquidity": "M" if maker else "T",
        "label": "",
        "instrument_name": "BTC_USDC-PERPETUAL",
        "index_price": 50005.0,
        "fee_currency": "USDC",
        "fee": 0.08,
        "direction": "buy",
        "api": True,
        "amount": float(amount),
        "contracts": float(D(amount) * 1000),
    }


def deribit_position(name: str, size: str, **fields) -> dict:
    """A position of private/get_positions: size signed, in the instrument's amount units."""
    long = D(size) > 0
    return {
        "vega": 0.0,
        "total_profit_loss": 1.0,
        "theta": 0.0,
        "size_currency": float(size),
        "size": float(size),
        "settlement_price": 50000.0,
        "realized_profit_loss": 0.0,
        "realized_funding": 0.0,
        "open_orders_margin": 0.0,
        "mark_price": 50100.0,
        "maintenance_margin": 2.505,
        "leverage": 10,
        "kind": "future",
        "interest_value": 0.0,
        "instrument_name": name,
        "initial_margin": 50.1,
        "index_price": 50090.0,
        "gamma": 0.0,
        "floating_profit_loss": 1.0,
        "estimated_liquidation_price": 45512.3 if long else 54487.7,
        "direction": "buy" if long else "sell",
        "delta": float(size),
        "average_price": 50000.0,
        **fields,
    }


class Deribit(DerivativesScript):
    code = "DERIBIT"
    credentials = {
        "PublicApiKey": "Ab1CdEf2",
        "PrivateApiKey": "deribit-desk-client-secret-0123456789abcdef",
    }
    symbol = "BTC_USDC-PERPETUAL"
    base, quote = "BTC", "USDC"
    tick, lot, min_amount = D("0.5"), D("0.0001"), D("0.0001")
    create = ("GET", f"{API}/private/(buy|sell)")
    exchange_order_id = ORDER_ID
    refusals = {
        "insufficient margin": (400, rpc_error(10009, "not_enough_funds")),
        "bad key": (400, rpc_error(13004, "invalid_credentials")),
        "invalid order": (400, rpc_error(10043, "price_wrong_tick")),
    }
    rate_limited = (429, rpc_error(10028, "too_many_requests"))
    server_error = (502, "<html>502 Bad Gateway</html>")
    time_in_force = {
        "GOOD_TILL_CANCEL": {},
        "IMMEDIATE_OR_CANCEL": {"time_in_force": "immediate_or_cancel"},
        "FILL_OR_KILL": {"time_in_force": "fill_or_kill"},
        "GOOD_TILL_TIME_EXCHANGE": "GOOD_TILL_TIME_OMS",
        "post_only": {"post_only": "true", "reject_post_only": "true"},
    }
    future_symbol = ""  # no USDC future: the inverse ones are tested on their own
    other_asset_symbol = "DOGE_USDC-PERPETUAL"
    perpetual_coinapi = "DERIBIT_PERP_BTC_USDC"
    # Deribit's amounts are the contract's own units (1 BTC here, 1 USD on an inverse contract).
    contract_size = D(1)
    settlement = "USDC"
    other_names = {
        "BTC-PERPETUAL": "DERIBIT_PERP_BTC_USD",
        "BTC-27DEC26": "DERIBIT_FTS_BTC_USD_261227",
    }
    no_leverage = "leverage is not offered"

    def markets(self, fake: FakeExchange) -> None:
        fake.on(
            "GET",
            f"{API}/public/get_instruments",
            rpc(
                [
                    instrument("BTC_USDC-PERPETUAL", "BTC", "USDC", "USDC"),
                    instrument("DOGE_USDC-PERPETUAL", "DOGE", "USDC", "USDC", tick_size=0.0001),
                    instrument("BTC-PERPETUAL", "BTC", "USD", "BTC"),
                    instrument(
                        "BTC-27DEC26",
                        "BTC",
                        "USD",
                        "BTC",
                        settlement_period="month",
                        tick_size=2.5,
                        expiration_timestamp=1798358400000,  # 2026-12-27 08:00 UTC
                    ),
                    instrument(
                        "BTC-27DEC26-100000-C",
                        "BTC",
                        "USD",
                        "BTC",
                        kind="option",
                        option_type="call",
                        strike=100000.0,
                        settlement_period="month",
                        tick_size=0.0001,
                        min_trade_amount=0.1,
                        contract_size=1.0,
                        expiration_timestamp=1798358400000,
                    ),
                ]
            ),
        )

    def client_id_sent(self, request: Sent) -> str:
        return request.query["label"]

    def amount_and_price_sent(self, request: Sent) -> tuple[str, str]:
        return request.query["amount"], request.query["price"]

    def time_in_force_sent(self, request: Sent) -> dict:
        keys = ("time_in_force", "post_only", "reject_post_only")
        return {key: request.query[key] for key in keys if key in request.query}

    def reduce_only_sent(self, request: Sent) -> bool:
        return request.query.get("reduce_only") == "true"

    def created(self, fake: FakeExchange, *, client_id: str) -> None:
        answer = rpc({"trades": [], "order": deribit_order(client_id, "open", "0")})
        fake.on("GET", f"{API}/private/(buy|sell)", answer)

    def found(self, fake: FakeExchange, *, client_id: str, status: str, filled: str) -> None:
        state = {"open": "open", "canceled": "cancelled", "filled": "filled"}[status]
        placed = deribit_order(client_id, state, filled)
        fake.on("GET", f"{API}/private/get_order_state_by_label", rpc([placed]))
        fake.on("GET", f"{API}/private/get_order_state", rpc(placed))
        self._trades(fake, filled)

    def _trades(self, fake: FakeExchange, filled: str) -> None:
        amounts = ["0.004", "0.006"] if D(filled) == D("0.01") else [filled]
        rows = [deribit_trade(f"USDC-1000{i}", a, True) for i, a in enumerate(amounts)]
        fake.on("GET", f"{API}/private/get_user_trades_by_order", rpc(rows))

    def missing(self, fake: FakeExchange) -> None:
        fake.on("GET", f"{API}/private/get_order_state_by_label", rpc([]))

    def assert_lookup_requests(self, fake: FakeExchange, client_id: str) -> None:
        [looked] = fake.requests_to(f"{API}/private/get_order_state_by_label", "GET")
        assert looked.query == {"currency": "USDC", "label": client_id}

    def canceled(self, fake: FakeExchange, *, client_id: str, filled: str) -> None:
        answer = rpc(deribit_order(client_id, "cancelled", filled, cancel_reason="user_request"))
        fake.on("GET", f"{API}/private/cancel", answer)
        self._trades(fake, filled)

    def canceled_all(self, fake: FakeExchange) -> None:
        fake.on("GET", f"{API}/private/cancel_all", rpc(1))  # the number of orders canceled

    def cancel_all_sent(self, fake: FakeExchange) -> list[Sent]:
        return fake.requests_to(f"{API}/private/cancel_all", "GET")

    def open_orders(self, fake: FakeExchange, *, client_id: str) -> None:
        partly = deribit_order(client_id, "open", "0.004", average_price=50000.0)
        fake.on("GET", f"{API}/private/get_open_orders", rpc([partly]))

    def balance(self, fake: FakeExchange) -> list[tuple]:
        def summary(currency: str, equity: float, available: float, maintenance: float) -> dict:
            return {
                "currency": currency,
                "equity": equity,
                "balance": equity,
                "margin_balance": equity,
                "available_funds": available,
                "available_withdrawal_funds": available,
                "initial_margin": round(equity - available, 8),
                "maintenance_margin": maintenance,
                "total_pl": 0.0,
                "session_upl": 0.0,
                "session_rpl": 0.0,
                "futures_pl": 0.0,
                "delta_total": 0.0,
                "fee_balance": 0.0,
                "portfolio_margining_enabled": False,
                "cross_collateral_enabled": False,
                "margin_model": "segregated_sm",
                "limits": {"non_matching_engine": {"rate": 20, "burst": 100}},
            }

        fake.on(
            "GET",
            f"{API}/private/get_account_summaries",
            rpc(
                {
                    "id": 10,
                    "email": "desk@example.com",
                    "system_name": "desk",
                    "username": "desk",
                    "type": "main",
                    "creation_timestamp": 1594388820315,
                    "referrer_id": None,
                    "login_enabled": False,
                    "security_keys_enabled": False,
                    "mmp_enabled": False,
                    "interuser_transfers_enabled": False,
                    "self_trading_reject_mode": "cancel_maker",
                    "self_trading_extended_to_subaccounts": False,
                    "summaries": [
                        summary("BTC", 1.25, 1.2, 0.02),
                        summary("USDC", 25436.21, 24434.21, 20.04),
                    ],
                }
            ),
        )
        # free is available_funds, used the maintenance margin, total the equity (ccxt's reading).
        return [
            ("BTC", "BTC", D("1.25"), D("1.2"), D("0.02"), None),
            ("USDC", "USDC", D("25436.21"), D("24434.21"), D("20.04"), None),
        ]

    def trades(self, fake: FakeExchange) -> list[tuple]:
        rows = [
            deribit_trade("USDC-10010", "0.004", True),
            deribit_trade("USDC-10011", "0.006", False),
        ]
        fake.on(
            "GET",
            f"{API}/private/get_user_trades_by_instrument_and_time",
            rpc({"trades": rows, "has_more": False}),
        )
        return [
            ("USDC-10010", ORDER_ID, D("50000"), D("0.004"), D("0.08"), "MAKER"),
            ("USDC-10011", ORDER_ID, D("50000"), D("0.006"), D("0.08"), "TAKER"),
        ]

    def positions(self, fake: FakeExchange) -> list[tuple]:
        fake.on(
            "GET",
            f"{API}/private/get_positions",
            rpc([deribit_position("BTC_USDC-PERPETUAL", "-0.02", leverage=5)]),
        )
        # Deribit margins from the currency's account: every position is cross.
        return [("BTC_USDC-PERPETUAL", D("-0.02"), D(50000), D(50100), D(5), True, D("54487.7"))]

    def positions_requests(self, fake: FakeExchange) -> list[Sent]:
        sent = fake.requests_to(f"{API}/private/get_positions", "GET")
        assert all(request.query["kind"] == "future" for request in sent)
        return sent

    def leverage_set(self, fake: FakeExchange) -> None:
        return None  # Deribit has no leverage call

    def leverage_sent(self, fake: FakeExchange) -> dict:
        return {}
