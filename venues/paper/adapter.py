"""PaperVenue: the Venue protocol over the paper engine, with the account's knobs applied.

The knobs stand in for the network: latency before each request, an exchange that cannot be
reached, and order entry whose answer is lost before or after the exchange acted on it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from decimal import Decimal
from typing import TypeVar

from django.db import connections, router
from django.utils import timezone

from emsweb import sql
from venues.base import (
    Candle,
    InstrumentSpec,
    MarketBook,
    OrderIntent,
    OrderRef,
    OrdSide,
    OrdStatus,
    TimeInForce,
    VenueBalance,
    VenueFill,
    VenueOrder,
    VenuePosition,
)
from venues.errors import OutcomeUnknown, Rejected, Unreachable
from venues.paper import engine
from venues.paper.markets import MARKETS, MarketDef, is_variant, listed
from venues.paper.marks import Marked
from venues.paper.models import (
    Fault,
    PaperAccount,
    PaperOrder,
    PaperRequest,
    PaperTrade,
    pk_from_exchange_order_id,
)

UNREACHABLE = "Exchange is unreachable."
RECEIVED_FIELDS = ("kind", "client_order_id", "exchange_order_id", "received_at")
TIMED_OUT = "Timed out waiting for the exchange's answer."

T = TypeVar("T")


class PaperVenue:
    code = "PAPER"

    def __init__(self, *, account_key: str, credentials: object = None, sandbox: bool = False):
        self.account_key = account_key

    def instruments(self) -> list[InstrumentSpec]:
        """The markets trading now (the expired futures no longer)."""

        def call() -> list[InstrumentSpec]:
            now = timezone.now()
            engine.markets_get(now)
            return [definition.spec() for definition in listed(now) if self.listed(definition)]

        return self._read(call)

    def listed(self, definition: MarketDef) -> bool:
        """Whether this venue shows the engine's market (PAPER2 shows its own copies)."""
        return not is_variant(definition)

    def submit(self, intent: OrderIntent) -> VenueOrder:
        return self._order_entry(
            lambda account: venue_order(
                engine.order_submit(self.account_key, intent, account=account)
            ),
            PaperRequest.Kind.SUBMIT,
            client_order_id=intent.client_order_id,
        )

    def cancel(self, ref: OrderRef) -> VenueOrder:
        def call(account: PaperAccount) -> VenueOrder:
            order = engine.order_cancel(
                self.account_key,
                client_order_id=ref.client_order_id,
                exchange_order_id=ref.exchange_order_id,
            )
            return venue_order(order)

        return self._order_entry(
            call,
            PaperRequest.Kind.CANCEL,
            client_order_id=ref.client_order_id or "",
            exchange_order_id=ref.exchange_order_id or "",
        )

    def cancel_all(self) -> list[VenueOrder]:
        return self._order_entry(
            lambda _: [venue_order(order) for order in engine.orders_cancel_all(self.account_key)],
            PaperRequest.Kind.CANCEL_ALL,
        )

    def lookup(self, client_order_id: str, symbol_id_exchange: str) -> VenueOrder | None:
        # The client order id is unique per account, so the symbol is not needed to find it.
        def call() -> VenueOrder | None:
            order = engine.order_lookup(self.account_key, client_order_id)
            return venue_order(order) if order is not None else None

        return self._read(call)

    def lookup_by_exchange_id(
        self, exchange_order_id: str, symbol_id_exchange: str
    ) -> VenueOrder | None:
        def call() -> VenueOrder | None:
            pk = pk_from_exchange_order_id(exchange_order_id)
            orders = engine.account_get(self.account_key).orders.prefetch_related("trades")
            found = orders.filter(pk=pk).first() if pk is not None else None
            return venue_order(found) if found is not None else None

        return self._read(call)

    def open_orders(self) -> list[VenueOrder]:
        # The sync cycle starts here, so this is where the paper markets move.
        def call() -> list[VenueOrder]:
            engine.advance_markets()
            return [venue_order(order) for order in engine.orders_open(self.account_key)]

        return self._read(call)

    def fills_since(self, cursor: str | None) -> tuple[list[VenueFill], str | None]:
        def call() -> tuple[list[VenueFill], str | None]:
            trades, new_cursor = engine.trades_since(self.account_key, cursor)
            return [venue_fill(trade, trade.order) for trade in trades], new_cursor

        return self._read(call)

    def balances(self) -> list[VenueBalance]:
        def call() -> list[VenueBalance]:
            rates = engine.usd_rates()
            return [
                VenueBalance(
                    asset=balance.asset,
                    balance=balance.total,
                    available=balance.available,
                    locked=balance.locked,
                    rate_usd=rates.get(balance.asset),
                )
                for balance in engine.balances_get(self.account_key)
            ]

        return self._read(call)

    def positions(self) -> list[VenuePosition]:
        return self._read(
            lambda: [venue_position(marked) for marked in engine.positions_get(self.account_key)]
        )

    def leverage_set(self, symbol_id_exchange: str, leverage: Decimal, cross: bool) -> None:
        self._read(
            lambda: engine.leverage_set(self.account_key, symbol_id_exchange, leverage, cross=cross)
        )

    def quotes(self) -> dict[str, tuple[Decimal | None, Decimal | None, Decimal | None]]:
        """Best bid, best ask and last (the mid) per symbol, for the ticket."""

        def call():
            markets = engine.markets_get()
            quotes = {}
            for symbol, market in markets.items():
                bid, ask = engine.best_bid_ask(symbol)
                quotes[symbol] = (bid, ask, market.mid)
            return quotes

        return self._read(call)

    def book(self, symbol_id_exchange: str, depth: int) -> MarketBook:
        """The market's synthetic book as it stands (what this step has left of it)."""

        def call() -> MarketBook:
            engine.market_def(symbol_id_exchange)  # Rejected for a market it does not have
            current = engine.book(symbol_id_exchange)
            return MarketBook(
                bids=tuple((level.price, level.size) for level in current.bids[:depth]),
                asks=tuple((level.price, level.size) for level in current.asks[:depth]),
            )

        return self._read(call)

    def candles(self, symbol_id_exchange: str, timeframe: str, limit: int) -> list[Candle]:
        """One-minute candles of the market's own mid and trades."""
        if timeframe != "1m":
            raise Rejected(f"The paper exchange keeps 1m candles only, not {timeframe}.")

        def call() -> list[Candle]:
            engine.market_def(symbol_id_exchange)
            return engine.candles(symbol_id_exchange, limit)

        return self._read(call)

    def _read(self, call: Callable[[], T]) -> T:
        self._before_request()
        return call()

    def _order_entry(self, call: Callable[[PaperAccount], T], kind: str, **identifiers: str) -> T:
        """`call(account)`: the request, given the account that _before_request read."""
        request = PaperRequest(kind=kind, **identifiers)
        account = _account_receiving(self.account_key, request)
        if account is None:  # a knob acts before the exchange receives it, or a first use
            account = self._before_request()
            if account.fault == Fault.TIMEOUT_BEFORE_ACCEPT:
                time.sleep(account.fault_delay_ms / 1000)
                raise OutcomeUnknown(TIMED_OUT)
            request.account = account
            sql.insert(request)
        if account.fault == Fault.TIMEOUT_AFTER_ACCEPT:
            # The exchange acts; its answer, a rejection included, is lost on the way back.
            with contextlib.suppress(Rejected):
                call(account)
            time.sleep(account.fault_delay_ms / 1000)
            raise OutcomeUnknown(TIMED_OUT)
        return call(account)

    def _before_request(self) -> PaperAccount:
        account = engine.account_get(self.account_key)
        if account.fault == Fault.UNREACHABLE:
            raise Unreachable(UNREACHABLE)
        if account.latency_ms:
            time.sleep(account.latency_ms / 1000)
        return account


def _account_receiving(account_key: str, request: PaperRequest) -> PaperAccount | None:
    """The account, with `request` logged as received in the same statement (PostgreSQL), when
    no knob would act first: no latency to wait, no fault. None, with nothing logged, otherwise
    or when the account has no row yet."""
    connection = connections[router.db_for_write(PaperRequest)]
    if connection.vendor != "postgresql":
        return None
    quote = connection.ops.quote_name
    fields = [PaperRequest._meta.get_field(name) for name in RECEIVED_FIELDS]
    values = [field.get_db_prep_save(field.pre_save(request, True), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH a AS (SELECT {sql.columns(connection, PaperAccount, 't0')}"
            f" FROM {quote(PaperAccount._meta.db_table)} t0 WHERE t0.account_key = %s),"
            f" r AS (INSERT INTO {quote(PaperRequest._meta.db_table)}"
            f" (account_id, {', '.join(quote(field.column) for field in fields)})"
            f" SELECT a.id, {', '.join(['%s'] * len(fields))} FROM a"
            " WHERE a.fault = %s AND a.latency_ms = 0 RETURNING id)"
            f" SELECT {sql.columns(connection, PaperAccount, 'a')}, (SELECT max(id) FROM r) FROM a",
            [account_key, *values, Fault.NONE.value],
        )
        row = cursor.fetchone()
    if row is None or row[-1] is None:
        return None
    account = sql.loaded(connection, PaperAccount, row[:-1])
    request.account, request.pk = account, row[-1]
    request._state.adding, request._state.db = False, connection.alias
    return account


def venue_fill(trade: PaperTrade, order: PaperOrder) -> VenueFill:
    return VenueFill(
        trade_id=str(trade.pk),
        client_order_id=order.client_order_id or None,
        exchange_order_id=order.exchange_order_id,
        time=trade.time,
        price=trade.price,
        amount=trade.amount,
        fee=trade.fee,
        fee_asset=trade.fee_asset,
        liquidity=trade.liquidity,
    )


def venue_fills(order: PaperOrder) -> tuple[VenueFill, ...]:
    # No trade without a filled amount: an order with none needs no query for its trades.
    if not order.filled:
        return ()
    return tuple(venue_fill(trade, order) for trade in order.trades.all())


def venue_order(order: PaperOrder) -> VenueOrder:
    return VenueOrder(
        client_order_id=order.client_order_id or None,
        exchange_order_id=order.exchange_order_id,
        symbol_id_exchange=order.symbol,
        status=OrdStatus(order.status),
        side=OrdSide(order.side),
        amount=order.amount,
        price=order.price,
        amount_filled=order.filled,
        avg_px=order.avg_price,
        client_order_id_format_exchange=order.client_order_id,
        time_in_force=TimeInForce(order.time_in_force),
        message=order.message,
        fills=venue_fills(order),
    )


def venue_position(marked: Marked) -> VenuePosition:
    held = marked.position
    return VenuePosition(
        symbol_id_exchange=held.symbol,
        size=held.size,
        entry_price=held.entry_price,
        mark_price=marked.mark,
        unrealized_pnl=marked.unrealized,
        realized_pnl=held.realized_pnl,
        margin=held.margin,
        maintenance_margin=marked.maintenance,
        leverage=held.leverage,
        cross=held.cross,
        liquidation_price=marked.liquidation_price,
        settlement_asset=MARKETS[held.symbol].settle,
        raw={
            "fees": held.fees,
            "funding": held.funding,
            "collateral": marked.collateral,
            "liquidated_at": held.liquidated_at,
        },
    )
