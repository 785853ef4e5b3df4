"""Positions from the venue: recorded on each sync, each change one event on the stream in the
same transaction (the transactional outbox balances and orders use)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import AlertKind, ApiKey, AuditAction, ExchangeAccount
from accounts.services import account_alert_raise, account_venue
from orders.models import Instrument
from orders.money import plain
from stream.models import EventKind
from stream.outbox import event_record, events_record
from venues.base import OrdSide, VenuePosition
from venues.errors import VenueError

from .models import Position

FIELDS = (
    "symbol_id_coinapi",
    "side",
    "size",
    "entry_price",
    "mark_price",
    "unrealized_pnl",
    "realized_pnl",
    "margin",
    "maintenance_margin",
    "leverage",
    "cross",
    "liquidation_price",
    "settlement_asset",
    "fees",
    "funding",
    "liquidated_at",
)


def positions_record(*, account: ExchangeAccount, positions: list[VenuePosition]) -> int:
    """Replace an account's position rows with the venue's report. Only rows that change are
    written, each with one POSITION_UPDATE event; a position the venue no longer lists is kept
    flat. A liquidation the venue reports for the first time raises the account's alert, naming
    the position. Returns how many changed."""
    coinapi = dict(
        Instrument.objects.filter(venue=account.venue).values_list(
            "symbol_id_exchange", "symbol_id_coinapi"
        )
    )
    now = timezone.now()
    with transaction.atomic():
        rows = {
            row.symbol_id_exchange: row
            for row in Position.objects.select_for_update().filter(account=account)
        }
        added, changed, liquidations = [], [], []
        reported = set()
        for item in positions:
            reported.add(item.symbol_id_exchange)
            row = rows.get(item.symbol_id_exchange)
            values = _values(item, coinapi.get(item.symbol_id_exchange, ""), row)
            if values["liquidated_at"] and values["liquidated_at"] != getattr(
                row, "liquidated_at", None
            ):
                liquidations.append(_liquidation_news(item, values, row))
            if row is None:
                added.append(
                    Position(account=account, symbol_id_exchange=item.symbol_id_exchange, **values)
                )
            elif _apply(row, values, now):
                changed.append(row)
        for symbol, row in rows.items():
            if symbol not in reported and row.size and _apply(row, _flat(row), now):
                changed.append(row)
        Position.objects.bulk_create(added)
        if changed:
            Position.objects.bulk_update(changed, [*FIELDS, "updated_at"])
        events_record(
            kind=EventKind.POSITION,
            account_id=account.pk,
            ref_ids=[row.pk for row in [*added, *changed]],
        )
    for news in liquidations:
        account_alert_raise(
            exchange_id=account.exchange_id,
            venue=account.venue,
            kind=AlertKind.LIQUIDATION,
            message=news,
        )
    return len(added) + len(changed)


def _liquidation_news(item: VenuePosition, values: dict, row: Position | None) -> str:
    """The liquidated position in words, with what emsweb last knew of it."""
    name = values["symbol_id_coinapi"] or item.symbol_id_exchange
    held = ""
    if row is not None and row.size:
        held = f" (last seen {'long' if row.size > 0 else 'short'} {plain(abs(row.size))})"
    at = values["liquidated_at"]
    when = f"{at:%Y-%m-%d %H:%M:%S} UTC" if isinstance(at, datetime) else str(at)
    return f"The position in {name}{held} was liquidated at {when}."


def _values(item: VenuePosition, symbol_id_coinapi: str, row: Position | None) -> dict:
    if item.size:
        side = OrdSide.BUY if item.size > 0 else OrdSide.SELL
    else:
        side = row.side if row is not None else OrdSide.BUY  # the side of the one just closed
    return {
        "symbol_id_coinapi": symbol_id_coinapi,
        "side": side,
        "size": item.size,
        "entry_price": item.entry_price,
        "mark_price": item.mark_price,
        "unrealized_pnl": item.unrealized_pnl,
        "realized_pnl": item.realized_pnl,
        "margin": item.margin,
        "maintenance_margin": item.maintenance_margin,
        "leverage": item.leverage,
        "cross": item.cross,
        "liquidation_price": item.liquidation_price,
        "settlement_asset": item.settlement_asset,
        "fees": item.raw.get("fees", 0),
        "funding": item.raw.get("funding", 0),
        "liquidated_at": item.raw.get("liquidated_at"),
    }


def _flat(row: Position) -> dict:
    return {"size": 0, "unrealized_pnl": 0, "margin": 0, "maintenance_margin": 0,
            "liquidation_price": None}  # fmt: skip


def _apply(row: Position, values: dict, now) -> bool:
    """Set `values` on the row; whether any changed."""
    differs = [name for name, value in values.items() if getattr(row, name) != value]
    for name in differs:
        setattr(row, name, values[name])
    if differs:
        row.updated_at = now
    return bool(differs)


MAX_LEVERAGE = Decimal(100)


class LeverageInvalid(Exception):
    """Field name -> messages. Nothing was changed."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


def leverage_set(
    *,
    account: ExchangeAccount,
    instrument: Instrument,
    leverage: object,
    cross: bool,
    user: AbstractBaseUser | None = None,
    api_key: ApiKey | None = None,
    ip: str | None = None,
) -> Position:
    """Set the account's leverage (1 to 100) and margin mode on a derivative, at the venue first,
    then on the position row (with its stream event); audited. LeverageInvalid otherwise."""
    try:
        value = Decimal(str(leverage)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise LeverageInvalid({"leverage": [f"{leverage!r} is not a number."]}) from None
    if not instrument.is_derivative:
        raise LeverageInvalid({"instrument": [f"{instrument} is spot: it has no leverage."]})
    if not 1 <= value <= MAX_LEVERAGE:
        raise LeverageInvalid({"leverage": [f"Leverage is from 1 to {MAX_LEVERAGE}."]})
    venue = account_venue(account=account)
    setter = getattr(venue, "leverage_set", None)
    if setter is None:
        raise LeverageInvalid({"instrument": [f"{account.venue} takes no leverage from emsweb."]})
    try:
        setter(instrument.symbol_id_exchange, value, cross)
    except VenueError as refused:
        raise LeverageInvalid({"leverage": [f"{account.venue} refused: {refused}"]}) from None
    with transaction.atomic():
        row, _ = Position.objects.update_or_create(
            account=account,
            symbol_id_exchange=instrument.symbol_id_exchange,
            defaults={
                "leverage": value,
                "cross": cross,
                "symbol_id_coinapi": instrument.symbol_id_coinapi,
                "settlement_asset": instrument.settlement_asset,
                "updated_at": timezone.now(),
            },
        )
        event_record(kind=EventKind.POSITION, account_id=account.pk, ref_id=row.pk)
        audit_record(
            action=AuditAction.LEVERAGE,
            actor=user,
            api_key=api_key,
            ip=ip,
            target=f"{account.exchange_id} {instrument.symbol_id_coinapi}",
            leverage=value,
            margin="cross" if cross else "isolated",
        )
    return row
