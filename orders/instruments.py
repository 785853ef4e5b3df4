"""Instruments: each venue's markets and their rules, loaded from the venue and kept here so
that validating an order never calls out."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import partial

from django.db import connection, transaction
from django.db.models import Q, QuerySet

from accounts.credentials import Credentials
from venues.base import InstrumentKind
from venues.registry import adapter_class

from .compiled import Prepared
from .models import Instrument


def coinapi_symbol(
    venue: str, base: str, quote: str, kind: str = InstrumentKind.SPOT, expiry: date | None = None
) -> str:
    """The contract's symbol id: KRAKEN_SPOT_OXT_USD, BITMEX_PERP_BTC_USD, and for a future its
    expiry last, as the hosted EMS names them: DERIBIT_FTS_BTC_USD_261225."""
    if kind == InstrumentKind.PERPETUAL:
        return f"{venue}_PERP_{base}_{quote}"
    if kind == InstrumentKind.FUTURE:
        return f"{venue}_FTS_{base}_{quote}_{expiry:%y%m%d}"
    return f"{venue}_SPOT_{base}_{quote}"


def instruments_refresh(*, venue: str) -> int:
    """Load a venue's markets (a public call) into the instrument table. Returns how many."""
    adapter = adapter_class(venue)(account_key="", credentials=Credentials({}), sandbox=False)
    specs = adapter.instruments()
    with transaction.atomic():
        for spec in specs:
            Instrument.objects.update_or_create(
                venue=venue,
                symbol_id_exchange=spec.symbol_id_exchange,
                defaults={
                    "symbol_id_coinapi": coinapi_symbol(
                        venue, spec.base, spec.quote, spec.kind, spec.expiry
                    ),
                    "base": spec.base,
                    "quote": spec.quote,
                    "tick_size": spec.tick_size,
                    "lot_size": spec.lot_size,
                    "min_amount": spec.min_amount,
                    "min_notional": spec.min_notional,
                    "kind": spec.kind,
                    "inverse": spec.inverse,
                    "contract_size": spec.contract_size,
                    "settlement_asset": spec.settlement_asset,
                    "expiry": spec.expiry,
                    "active": True,
                },
            )
        Instrument.objects.filter(venue=venue).exclude(
            symbol_id_exchange__in=[spec.symbol_id_exchange for spec in specs]
        ).update(active=False)
    return len(specs)


def contract_value(instrument: Instrument, amount: Decimal, price: Decimal) -> Decimal:
    """What `amount` is worth at `price` in the settlement asset of a derivative (the quote
    asset of a spot or linear instrument): inverse contracts are worth their size in quote, so
    size / price in the base."""
    if instrument.inverse:
        return amount * instrument.contract_size / price
    return amount * instrument.contract_size * price


def instrument_find(*, venue: str, symbol: str, active: bool = True) -> Instrument | None:
    """An active instrument by the venue's symbol (`OXTUSD`, `OXT/USD`) or the contract's id;
    with `active` False, one no longer listed too (an expired future's last orders)."""
    compact = symbol.replace("/", "").replace("-", "")
    read = _ACTIVE_NAMED if active else _NAMED
    found = read.dicts(venue=venue, symbol=symbol, compact=compact)
    if not found:
        return None
    return Instrument.from_db(connection.alias, _FIELDS, [found[0][name] for name in _FIELDS])


_FIELDS = [field.attname for field in Instrument._meta.concrete_fields]


def _named(*, venue: str, symbol: str, compact: str, active: bool) -> QuerySet:
    instruments = Instrument.objects.filter(venue=venue)
    if active:
        instruments = instruments.filter(active=True)
    named = Q(symbol_id_coinapi=symbol) | Q(symbol_id_exchange=symbol)
    return (
        instruments.filter(named | Q(symbol_id_exchange=compact))
        .order_by(*Instrument._meta.ordering)
        .values(*_FIELDS)[:1]
    )


# Every submit asks: compiled once (orders.compiled), with these markers for the values.
_MARKERS = {"venue": "<venue>", "symbol": "<symbol>", "compact": "<compact>"}
_ACTIVE_NAMED = Prepared(partial(_named, active=True), **_MARKERS)
_NAMED = Prepared(partial(_named, active=False), **_MARKERS)
