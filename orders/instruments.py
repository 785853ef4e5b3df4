"""Instruments: each venue's markets and their rules, loaded from the venue and kept here so
that validating an order never calls out."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q

from accounts.credentials import Credentials
from venues.registry import adapter_class

from .models import Instrument


def coinapi_symbol(venue: str, base: str, quote: str) -> str:
    """The contract's symbol id: KRAKEN_SPOT_OXT_USD."""
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
                    "symbol_id_coinapi": coinapi_symbol(venue, spec.base, spec.quote),
                    "base": spec.base,
                    "quote": spec.quote,
                    "tick_size": spec.tick_size,
                    "lot_size": spec.lot_size,
                    "min_amount": spec.min_amount,
                    "min_notional": spec.min_notional,
                    "active": True,
                },
            )
        Instrument.objects.filter(venue=venue).exclude(
            symbol_id_exchange__in=[spec.symbol_id_exchange for spec in specs]
        ).update(active=False)
    return len(specs)


def instrument_find(*, venue: str, symbol: str) -> Instrument | None:
    """An active instrument by the venue's symbol (`OXTUSD`, `OXT/USD`) or the contract's id."""
    compact = symbol.replace("/", "").replace("-", "")
    return (
        Instrument.objects.filter(venue=venue, active=True)
        .filter(
            Q(symbol_id_coinapi=symbol)
            | Q(symbol_id_exchange=symbol)
            | Q(symbol_id_exchange=compact)
        )
        .first()
    )
