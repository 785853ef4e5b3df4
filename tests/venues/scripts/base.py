"""One script per exchange: its documented answers, and what its requests must carry.

The tests in test_exchanges.py run the same behaviour against every script, so what differs
between exchanges is only here: endpoints, payload shapes and field names.
"""

from __future__ import annotations

from decimal import Decimal

from tests.venues.fake_http import FakeExchange, Sent

D = Decimal


class Script:
    code = ""  # the venue code
    credentials: dict[str, str] = {}
    symbol = ""  # the test market's symbol_id_exchange (its ccxt `id`)
    base, quote = "BTC", "USD"
    tick, lot, min_amount = D("0.1"), D("0.00000001"), D("0.0001")
    create: tuple[str, str] = ("POST", "")  # the order-entry endpoint
    exchange_order_id = "ORDER-1"
    # Refusals the exchange documents: kind -> (HTTP status, body) answered to a create.
    refusals: dict[str, tuple[int, object]] = {}
    rate_limited: tuple[int, object] = (429, {})
    server_error: tuple[int, object] = (502, "<html>502 Bad Gateway</html>")

    @property
    def secrets(self) -> list[str]:
        return [value for value in self.credentials.values() if len(value) >= 8]

    def markets(self, fake: FakeExchange) -> None:
        raise NotImplementedError

    def client_id_sent(self, request: Sent) -> str:
        """Where our client order id is in the create request."""
        raise NotImplementedError

    def amount_and_price_sent(self, request: Sent) -> tuple[str, str]:
        raise NotImplementedError

    def created(self, fake: FakeExchange, *, client_id: str) -> None:
        raise NotImplementedError

    def found(self, fake: FakeExchange, *, client_id: str, status: str, filled: str) -> None:
        """The order is there when looked up; status is "open", "canceled" or "filled"."""
        raise NotImplementedError

    def missing(self, fake: FakeExchange) -> None:
        raise NotImplementedError

    def assert_lookup_requests(self, fake: FakeExchange, client_id: str) -> None:
        raise NotImplementedError

    def canceled(self, fake: FakeExchange, *, client_id: str, filled: str) -> None:
        raise NotImplementedError

    def canceled_all(self, fake: FakeExchange) -> None:
        raise NotImplementedError

    def cancel_all_sent(self, fake: FakeExchange) -> list[Sent]:
        raise NotImplementedError

    def balance(self, fake: FakeExchange) -> list[tuple]:
        """Answers the balance (and ticker) reads; returns the expected
        (asset, common id, balance, available, locked, rate_usd) rows."""
        raise NotImplementedError

    def trades(self, fake: FakeExchange) -> list[tuple]:
        """Answers the trades reads; returns the expected (trade id, order id, price, amount,
        fee, liquidity)."""
        raise NotImplementedError

    def open_orders(self, fake: FakeExchange, *, client_id: str) -> None:
        """One open order, partially filled 0.004 of 0.01, with client id `client_id`."""
        raise NotImplementedError

    def time_in_force_sent(self, request: Sent) -> dict:
        """The time-in-force and post-only fields of a create request."""
        raise NotImplementedError

    # time in force -> what the create carries; a string: the refusal's expected words.
    time_in_force: dict[str, object] = {}


class DerivativesScript(Script):
    """A derivatives venue's script: its contracts, positions, reduce-only flag and leverage."""

    future_symbol = ""  # a future on the same base (its ccxt `id`)
    other_asset_symbol = ""  # a perpetual on an asset the desk does not trade
    perpetual_coinapi = ""  # the contract's symbol id of `symbol` and of `future_symbol`
    future_coinapi = ""
    contract_size = D(1)
    settlement = ""
    # Other contracts on the desk's assets, by the exchange's symbol: their contract names.
    other_names: dict[str, str] = {}
    leverage_paths: tuple[tuple[str, str], ...] = ()
    leverage_expected: dict = {}
    no_leverage = ""  # the refusal's words, where the exchange sets no leverage per contract

    def reduce_only_sent(self, request: Sent) -> bool:
        raise NotImplementedError

    def positions(self, fake: FakeExchange) -> list[tuple]:
        """Answers the positions read; returns the expected
        (symbol, size, entry, mark, leverage, cross, liquidation price) rows."""
        raise NotImplementedError

    def positions_requests(self, fake: FakeExchange) -> list[Sent]:
        raise NotImplementedError

    def leverage_set(self, fake: FakeExchange) -> None:
        raise NotImplementedError

    def leverage_sent(self, fake: FakeExchange) -> dict:
        """What the leverage and margin mode requests carried, for leverage 20, cross."""
        raise NotImplementedError
