"""CcxtVenue: the Venue protocol over any exchange ccxt speaks.

One class serves every ccxt venue: the registry makes a subclass per venue code that knows its
ccxt id. What differs between exchanges lives in profiles/; ccxt's errors are classified in
errors.py; instances, markets and the shared limits in connection.py and limits.py.

Orders are rounded here, in Decimal, toward the side that never exceeds the trader's limit or
amount, checked against the market's minimums, and sent as decimal strings. Anything refused
before sending is `Rejected`; once sent, only a definite refusal is.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import TypeVar

import ccxt
import redis
from django.conf import settings

from emsweb.redis import redis_client
from venues.base import (
    Candle,
    InstrumentSpec,
    KeyCheck,
    MarketBook,
    OrderIntent,
    OrderRef,
    OrdStatus,
    VenueBalance,
    VenueFill,
    VenueOrder,
)
from venues.errors import OutcomeUnknown, Rejected, Unreachable, VenueError

from . import connection as connections
from . import convert, holdings
from .convert import (
    ZERO,
    NotTradable,
    UnreadableOrder,
    dec,
    instrument_spec,
    order_amounts,
    plain,
    venue_fill,
    venue_order,
)
from .errors import Operation, classify
from .profiles import NotOffered, Profile, profile_for

logger = logging.getLogger(__name__)

T = TypeVar("T")
FINISHED = ("closed", "canceled", "expired", "rejected")
TRADE_PAGES = 10
TRADE_PAGE = 100
# Asked of the exchange for a book: a depth most of them accept as is (Binance and KuCoin take
# only a few values); the screen is sent fewer.
BOOK_REQUEST_LEVELS = 20


class CcxtVenue:
    code = ""
    ccxt_id = ""
    venue_name = ""

    @classmethod
    def for_venue(cls, info) -> type[CcxtVenue]:
        """The adapter class of one venue code (the registry calls this once per code)."""
        return type(
            f"CcxtVenue_{info.code}",
            (cls,),
            {"code": info.code, "ccxt_id": info.ccxt_id, "venue_name": info.name},
        )

    @classmethod
    def client_order_id_for(cls, client_order_id: str) -> str:
        """What this venue is sent as the client order id: ours, or a UUID derived from it."""
        return profile_for(cls.ccxt_id).client_id(client_order_id)

    def __init__(
        self,
        *,
        account_key: str,
        credentials: Mapping[str, str] | None = None,
        sandbox: bool = False,
    ):
        self.account_key = account_key
        self.sandbox = sandbox
        self.profile: Profile = profile_for(self.ccxt_id)
        self.name = self.venue_name or self.profile.name or self.ccxt_id
        self._credentials = connections.ccxt_credentials(credentials or {})
        self._symbols: list[str] | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.account_key}>"  # never the keys

    # --- the Venue protocol -------------------------------------------------------------------

    def instruments(self) -> list[InstrumentSpec]:
        """The markets the venue trades, loaded now: the scheduled and on-demand refresh."""
        markets = self._markets(reload=True)
        mode = self._public().exchange.precisionMode
        tradable = markets.tradable(derivatives=self.profile.derivatives)
        specs = (instrument_spec(market, mode) for market in tradable.values())
        return [spec for spec in specs if spec is not None]

    def submit(self, intent: OrderIntent) -> VenueOrder:
        connection, market = self._before_sending(intent.symbol_id_exchange)
        try:
            amount, price = order_amounts(intent, market, connection.exchange.precisionMode)
        except NotTradable as refusal:
            raise Rejected(f"Not sent: {refusal} at {self.name}.") from None
        client_id = self.profile.client_id(intent.client_order_id)
        try:
            params = self.profile.order_params(connection.exchange, intent)
        except NotOffered as refusal:
            raise Rejected(str(refusal)) from None
        params.update(self.profile.client_id_params(client_id))
        side = intent.side.lower()
        raw = self._call(
            connection,
            Operation.CREATE,
            connection.exchange.create_order,
            market["symbol"],
            "limit",
            side,
            plain(amount),
            plain(price),
            params,
        )
        sent = VenueOrder(
            client_order_id=intent.client_order_id,
            exchange_order_id="",
            symbol_id_exchange=intent.symbol_id_exchange,
            status=OrdStatus.NEW,
            side=intent.side,
            amount=amount,
            price=price,
            amount_filled=ZERO,
            client_order_id_format_exchange=client_id,
            time_in_force=intent.time_in_force,
        )
        try:
            return self._report(
                self.profile.repair(raw),
                sent.symbol_id_exchange,
                intent.client_order_id,
                client_id,
                fallback=sent,
            )
        except (UnreadableOrder, KeyError, TypeError, ValueError) as problem:
            # Accepted, but the answer cannot be read: the order may be live. Look it up.
            raise OutcomeUnknown(
                f"{self.name} answered without a usable report ({problem})"
            ) from None

    def cancel(self, ref: OrderRef) -> VenueOrder:
        connection = self._account()
        market = self._market(ref.symbol_id_exchange)
        symbol = market["symbol"] if market else None
        client_id = self.profile.client_id(ref.client_order_id) if ref.client_order_id else ""
        exchange = connection.exchange
        connection.gate.cancel_first = True
        try:
            exchange_order_id = ref.exchange_order_id
            before = None
            if not exchange_order_id or self.profile.canceled_unfilled_vanish:
                # Needed to cancel by the exchange's id; or, where a canceled order that never
                # traded vanishes, to still know what it was afterwards.
                before = self._call(
                    connection, Operation.CANCEL, self.profile.lookup, exchange, client_id, symbol
                )
                if before is None:
                    raise Rejected(f"{self.name} has no order with client order id {client_id}.")
                exchange_order_id = exchange_order_id or str(before["id"])
            raw = self._call(
                connection, Operation.CANCEL, exchange.cancel_order, exchange_order_id, symbol
            )
            if not _final(raw):
                raw = self._state_after_cancel(connection, exchange_order_id, symbol, before)
        finally:
            connection.gate.cancel_first = False
        raw = self.profile.repair(raw)
        client_id = client_id or str(raw.get("clientOrderId") or "")
        trades = self._final_trades(connection, raw, symbol)
        try:
            return self._report(
                raw, ref.symbol_id_exchange, ref.client_order_id, client_id, trades=trades
            )
        except UnreadableOrder as problem:
            raise OutcomeUnknown(
                f"{self.name} accepted the cancel; its answer is not usable ({problem})."
            ) from None

    def cancel_all(self) -> list[VenueOrder]:
        """Cancel every open order. Reports only what the venue's answer proves; the sync
        settles the rest by looking each order up."""
        connection = self._account()
        exchange = connection.exchange
        connection.gate.cancel_first = True
        try:
            answers = self._call(connection, Operation.CANCEL, self.profile.cancel_all, exchange)
        finally:
            connection.gate.cancel_first = False
        reports = []
        for raw in answers:
            raw = self.profile.repair(raw)
            if not _final(raw):
                continue
            try:
                reports.append(self._report_from_venue(raw, connection))
            except UnreadableOrder as problem:
                logger.warning("%s: cancel-all answer not usable: %s", self.name, problem)
        return reports

    def lookup(self, client_order_id: str, symbol_id_exchange: str) -> VenueOrder | None:
        """The order with this client order id, or None: evidence of absence, not proof."""
        connection = self._account()
        market = self._market(symbol_id_exchange)
        symbol = market["symbol"] if market else None
        client_id = self.profile.client_id(client_order_id)
        raw = self._call(
            connection, Operation.READ, self.profile.lookup, connection.exchange, client_id, symbol
        )
        if raw is None:
            return None
        raw = self.profile.repair(raw)
        trades = self._final_trades(connection, raw, symbol)
        try:
            return self._report(raw, symbol_id_exchange, client_order_id, client_id, trades=trades)
        except UnreadableOrder as problem:
            raise OutcomeUnknown(f"{self.name}: its answer is not usable ({problem}).") from None

    def lookup_by_exchange_id(
        self, exchange_order_id: str, symbol_id_exchange: str
    ) -> VenueOrder | None:
        """The order with the exchange's id (ccxt's fetch_order), with its trades if it finished;
        None where the exchange has none, or needs the market and none is given (Binance)."""
        connection = self._account()
        market = self._market(symbol_id_exchange) if symbol_id_exchange else None
        symbol = market["symbol"] if market else None
        raw = self._call(
            connection,
            Operation.READ,
            self.profile.lookup_by_id,
            connection.exchange,
            exchange_order_id,
            symbol,
        )
        if raw is None:
            return None
        try:
            return self._report_from_venue(self.profile.repair(raw), connection)
        except UnreadableOrder as problem:
            raise OutcomeUnknown(f"{self.name}: its answer is not usable ({problem}).") from None

    def open_orders(self) -> list[VenueOrder]:
        connection = self._account()
        exchange = connection.exchange
        answers: list[dict] = []
        for symbol in self._open_order_scopes(connection):
            answers += self._call(
                connection, Operation.READ, self.profile.open_orders, exchange, symbol
            )
        reports = []
        for raw in answers:
            try:
                reports.append(self._report_from_venue(self.profile.repair(raw), connection))
            except UnreadableOrder as problem:
                logger.warning("%s: open order not usable: %s", self.name, problem)
        return reports

    def fills_since(self, cursor: str | None) -> tuple[list[VenueFill], str | None]:
        """Our trades since the cursor (a time in ms), with an overlap: fills de-duplicate by
        trade id downstream, so a trade seen twice counts once and a late one is not missed."""
        connection = self._account()
        exchange = connection.exchange
        after = int(cursor) if cursor and cursor.isdigit() else None
        if after is not None:
            since = after - int(settings.EMSWEB_CCXT_FILLS_OVERLAP * 1000)
        else:
            since = exchange.milliseconds() - int(settings.EMSWEB_CCXT_FILLS_LOOKBACK * 1000)
        if self.profile.trades_need_symbol:
            scopes = [market["symbol"] for market in self._hinted_markets()]
        else:
            scopes = [None]
        trades: list[dict] = []
        for symbol in scopes:
            trades += self._call(
                connection, Operation.READ, self._trades_since, exchange, symbol, since
            )
        fills = [fill for fill in (self._fill(connection, t) for t in trades) if fill is not None]
        newest = max((int(t["timestamp"]) for t in trades if t.get("timestamp")), default=None)
        if newest is None:
            return fills, cursor
        return fills, str(max(newest, after or 0))

    def balances(self) -> list[VenueBalance]:
        connection = self._account()
        raw = self._call(connection, Operation.READ, connection.exchange.fetch_balance)
        return self._balances(connection, raw, with_rates=True)

    # --- optional capabilities (venues.base.hint_symbols, key_check) --------------------------

    def quotes(self) -> dict[str, tuple[Decimal | None, Decimal | None, Decimal | None]]:
        """Best bid, best ask and last per symbol, for the ticket (orders.quotes)."""
        return holdings.quotes(self._tradable(), self._tickers())

    def book(self, symbol_id_exchange: str, depth: int) -> MarketBook:
        """The public order book, at the lowest priority of the shared budget (limits.Gate):
        `limits.Throttled` rather than wait, when orders, cancels or syncs may need it."""
        connection, symbol = self._market_data(symbol_id_exchange)
        fetch = connection.exchange.fetch_order_book
        raw = self._call(connection, Operation.READ, fetch, symbol, BOOK_REQUEST_LEVELS)
        return convert.market_book(raw or {}, depth)

    def candles(self, symbol_id_exchange: str, timeframe: str, limit: int) -> list[Candle]:
        """The exchange's own OHLCV, oldest first, at the same lowest priority as the book."""
        connection, symbol = self._market_data(symbol_id_exchange)
        fetch = connection.exchange.fetch_ohlcv
        raw = self._call(connection, Operation.READ, fetch, symbol, timeframe, None, limit)
        return convert.candles(raw)[-limit:]

    def hint_symbols(self, symbols: Iterable[str]) -> None:
        self._symbols = list(symbols)

    def key_check(self) -> KeyCheck:
        """A balance read proves the key works; the permissions where the exchange tells."""
        try:
            connection = self._account()
            raw = self._call(connection, Operation.READ, connection.exchange.fetch_balance)
            self._balances(connection, raw, with_rates=False)
        except VenueError as problem:
            return KeyCheck(ok=False, message=problem.message)
        try:
            can_trade, can_withdraw = self._call(
                connection, Operation.READ, self.profile.permissions, connection.exchange
            )
        except VenueError as problem:
            logger.info("%s: key permissions not readable: %s", self.name, problem.message)
            can_trade, can_withdraw = None, None
        notes = ["The key reads balances."]
        if can_trade is False:
            notes.append("It cannot trade: orders will be refused.")
        if can_withdraw:
            notes.append("It can withdraw funds: replace it with a trade-only key.")
        elif can_withdraw is None:
            notes.append(f"{self.name} does not say whether it can withdraw: check it there.")
        return KeyCheck(
            ok=True, message=" ".join(notes), can_trade=can_trade, can_withdraw=can_withdraw
        )

    # --- connections and markets --------------------------------------------------------------

    def _public(self) -> connections.Connection:
        return connections.public_connection(self.profile, self.sandbox)

    def _market_data(self, symbol_id_exchange: str) -> tuple[connections.Connection, str]:
        market = self._market(symbol_id_exchange)
        if market is None:
            raise Rejected(self._no_market(symbol_id_exchange))
        connection = connections.market_data_connection(self.profile, self.sandbox)
        connection.use_markets(self._markets())
        return connection, market["symbol"]

    def _account(self) -> connections.Connection:
        if not self._credentials:
            raise Rejected(f"{self.name}: this account has no keys.")
        connection = connections.account_connection(
            profile=self.profile,
            account_key=self.account_key,
            credentials=self._credentials,
            sandbox=self.sandbox,
        )
        connection.use_markets(self._markets())
        return connection

    def _markets(self, *, reload: bool = False) -> connections.Markets:
        try:
            return connections.markets(self.profile, self.sandbox, reload=reload)
        except VenueError:
            raise
        except Exception as error:  # noqa: BLE001 - classified: nothing is ever sent by this
            public = self._public()
            raise classify(
                error, operation=Operation.READ, venue=self.name, status=public.status
            ) from None

    def spot_assets(self, symbol_id_exchange: str) -> tuple[str, str] | None:
        """The common base and quote of a spot market, from the public market list."""
        market = self._market(symbol_id_exchange)
        return (market["base"], market["quote"]) if market else None

    def _market(self, symbol_id_exchange: str) -> dict | None:
        return self._tradable().get(symbol_id_exchange)

    def _tradable(self) -> dict[str, dict]:
        return self._markets().tradable(derivatives=self.profile.derivatives)

    def _no_market(self, symbol_id_exchange: str) -> str:
        kind = "derivatives" if self.profile.derivatives else "spot"
        return f"{self.name} has no {kind} market {symbol_id_exchange}."

    def _before_sending(self, symbol_id_exchange: str) -> tuple[connections.Connection, dict]:
        """The account's connection and the order's market; failing here, nothing was sent."""
        try:
            connection = self._account()
            market = self._market(symbol_id_exchange)
        except (OutcomeUnknown, Unreachable) as problem:
            raise Unreachable(f"Not sent: {problem.message}") from None
        if market is None:
            raise Rejected(self._no_market(symbol_id_exchange))
        return connection, market

    # --- calls --------------------------------------------------------------------------------

    def _call(
        self,
        connection: connections.Connection,
        operation: Operation,
        function: Callable[..., T],
        *args,
    ) -> T:
        """Call ccxt; any failure leaves as exactly one of Rejected, Unreachable, OutcomeUnknown."""
        try:
            return function(*args)
        except Exception as error:  # noqa: BLE001 - classified once, below
            raise classify(
                error,
                operation=operation,
                venue=self.name,
                status=connection.status,
                secrets=connection.secrets,
                account_key=self.account_key,
            ) from None

    def _state_after_cancel(
        self, connection, exchange_order_id: str, symbol: str | None, before: dict | None
    ) -> dict:
        """The venue accepted the cancel but its answer did not say the final state: ask."""
        try:
            return self._call(
                connection,
                Operation.READ,
                self._fetch_after_cancel,
                connection.exchange,
                exchange_order_id,
                symbol,
                before,
            )
        except VenueError as problem:
            raise OutcomeUnknown(
                f"{self.name} accepted the cancel of {exchange_order_id}; its final state is "
                f"not known yet ({problem.message})."
            ) from None

    def _fetch_after_cancel(
        self, exchange, exchange_order_id: str, symbol: str | None, before: dict | None
    ) -> dict:
        try:
            return exchange.fetch_order(exchange_order_id, symbol)
        except ccxt.OrderNotFound:
            if not self.profile.canceled_unfilled_vanish or before is None:
                raise
            # Coinbase Exchange forgets a canceled order that never traded: what it was just
            # before the cancel, canceled, with nothing filled.
            return {**before, "status": "canceled", "filled": ZERO, "remaining": None}

    def _final_trades(self, connection, raw: dict, symbol: str | None) -> list[dict] | None:
        """For a finished order that traded, its trades: once it is final, fills that are not
        in its report would never be recorded."""
        filled = dec(raw.get("filled")) or ZERO
        if raw.get("status") not in FINISHED or filled <= 0:
            return None
        priced = [
            t for t in raw.get("trades") or [] if dec(t.get("price")) and dec(t.get("amount"))
        ]
        if sum((dec(t["amount"]) for t in priced), ZERO) >= filled:
            return priced
        try:
            return self._call(
                connection,
                Operation.READ,
                self.profile.order_trades,
                connection.exchange,
                raw,
                symbol,
            )
        except Rejected as problem:
            logger.warning("%s: trades of %s not readable: %s", self.name, raw.get("id"), problem)
            return priced

    def _trades_since(self, exchange, symbol: str | None, since: int) -> list[dict]:
        trades: dict[str, dict] = {}
        for _ in range(TRADE_PAGES):
            page = exchange.fetch_my_trades(symbol, since, TRADE_PAGE)
            fresh = [t for t in page if t.get("id") and str(t["id"]) not in trades]
            trades.update((str(t["id"]), t) for t in fresh)
            if len(page) < TRADE_PAGE or not fresh:
                break
            since = max((int(t["timestamp"]) for t in fresh if t.get("timestamp")), default=since)
        return list(trades.values())

    # --- reports ------------------------------------------------------------------------------

    def _report(
        self,
        raw: dict,
        symbol_id_exchange: str,
        client_order_id: str | None,
        client_id: str,
        *,
        fallback: VenueOrder | None = None,
        trades: list[dict] | None = None,
    ) -> VenueOrder:
        if trades is not None:
            trades = [self.profile.repair_trade(trade) for trade in trades]
        return venue_order(
            raw,
            symbol_id_exchange=symbol_id_exchange,
            client_order_id=client_order_id,
            client_order_id_format_exchange=client_id,
            fallback=fallback,
            trades=trades,
        )

    def _report_from_venue(self, raw: dict, connection) -> VenueOrder:
        """A report of an order as the venue lists it: its client id is the exchange's own."""
        symbol_id_exchange = self._symbol_id(connection, raw.get("symbol"))
        client_id = str(raw.get("clientOrderId") or "")
        trades = self._final_trades(connection, raw, raw.get("symbol"))
        return self._report(raw, symbol_id_exchange, client_id or None, client_id, trades=trades)

    def _fill(self, connection, trade: dict) -> VenueFill | None:
        """A trade from the feed as a fill, with its market: an order it names that emsweb
        does not know is looked up there (Binance needs the market to find it)."""
        fill = venue_fill(self.profile.repair_trade(trade))
        if fill is None:
            return None
        return replace(fill, symbol_id_exchange=self._symbol_id(connection, trade.get("symbol")))

    @staticmethod
    def _symbol_id(connection, symbol: str | None) -> str:
        """The exchange's own id of a ccxt symbol ("BTC/USD" -> "XXBTZUSD")."""
        market = connection.exchange.markets.get(symbol or "") or {}
        return str(market.get("id") or symbol or "")

    def _balances(self, connection, raw: dict, *, with_rates: bool) -> list[VenueBalance]:
        codes = [code for code, total in (raw.get("total") or {}).items() if dec(total)]
        rates = self._usd_rates(codes) if with_rates else {}
        return holdings.balances(raw, connection.exchange.currencies or {}, rates)

    def _usd_rates(self, codes: Iterable[str]) -> dict[str, Decimal]:
        """USD per unit from the exchange's own X/USD tickers; none where no such market."""
        markets = self._markets().markets
        if not any(f"{code}/USD" in markets for code in codes if code != "USD"):
            return {"USD": Decimal(1)}
        try:
            tickers = self._tickers()
        except VenueError as problem:
            logger.info("%s: no USD rates (%s)", self.name, problem.message)
            tickers = {}
        return holdings.usd_rates(codes, tickers)

    def _tickers(self) -> dict:
        """Every ticker, in one public call, kept for EMSWEB_CCXT_TICKERS_TTL."""
        key = (self.ccxt_id, self.sandbox)
        cached = _ticker_cache.get(key)
        if cached and time.monotonic() - cached[0] < settings.EMSWEB_CCXT_TICKERS_TTL:
            return cached[1]
        public = self._public()
        public.use_markets(self._markets())
        if not public.exchange.has.get("fetchTickers"):
            return {}
        tickers = dict(self._call(public, Operation.READ, public.exchange.fetch_tickers) or {})
        _ticker_cache[key] = (time.monotonic(), tickers)
        return tickers

    def _open_order_scopes(self, connection) -> list[str | None]:
        """Unscoped, except where that costs a lot: then per hinted symbol, with an unscoped
        call now and then so that orders placed outside emsweb are still found."""
        if not self.profile.open_orders_per_symbol or self._symbols is None:
            return [None]
        key = f"emsweb:ccxt:unscoped:{self.code}:{self.account_key}"
        every = max(1, int(settings.EMSWEB_CCXT_UNSCOPED_EVERY))
        try:
            if redis_client().set(key, "1", nx=True, ex=every):
                return [None]
        except redis.RedisError:
            return [None]
        return [market["symbol"] for market in self._hinted_markets()]

    def _hinted_markets(self) -> list[dict]:
        tradable = self._tradable()
        return [tradable[symbol] for symbol in self._symbols or () if symbol in tradable]


def _final(raw: dict | None) -> bool:
    """An answer that states an order's final state and how much of it filled."""
    if not raw or not raw.get("id") or raw.get("status") not in FINISHED:
        return False
    return raw.get("filled") is not None or raw.get("remaining") is not None


_ticker_cache: dict[tuple[str, bool], tuple[float, dict]] = {}
