"""Flatten: close every derivative position of the accounts given with reduce-only IOC orders,
priced at the reference price (the mid the workers keep, else the venue's mark) plus or minus
the tightest price band in force (FLATTEN_BAND_PERCENT when none): far enough to cross, never
beyond what the desk's band allows. Each order goes through order_submit like any other, so the
trading state, the limits and the reduce-only check apply; what could not be closed is reported,
never retried behind the desk's back."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser

from accounts.audit import audit_record
from accounts.models import ApiKey, AuditAction, ExchangeAccount
from orders.money import plain
from positions.models import Position
from risk.rules import rules_for
from venues.base import ExecInst, OrdSide, OrdStatus, TimeInForce

from ..instruments import instrument_find
from ..models import Order
from ..notify import routing_wait
from ..selectors import quote_for
from .submit import OrderInvalid, OrderTicket, order_submit

FLATTEN_BAND_PERCENT = Decimal(2)
CONFIRMATION = "FLATTEN"


@dataclass
class FlattenReport:
    orders: list[Order] = field(default_factory=list)
    not_closed: list[str] = field(default_factory=list)  # one line per position, saying why


def positions_flatten(
    *,
    accounts: list[ExchangeAccount],
    user: AbstractBaseUser | None = None,
    api_key: ApiKey | None = None,
    ip: str | None = None,
    wait: float = 0,
) -> FlattenReport:
    """Send a reduce-only IOC order against each open position of these accounts (the ones the
    user may trade). `wait`: seconds to wait for each order's routing, so that the report can
    say which did not fill; 0 reports only what was refused before routing."""
    report = FlattenReport()
    for account in accounts:
        for position in Position.objects.filter(account=account).exclude(size=0):
            _close(account, position, user, api_key, ip, report)
    audit_record(
        action=AuditAction.FLATTEN,
        actor=user,
        api_key=api_key,
        ip=ip,
        target=", ".join(account.exchange_id for account in accounts)[:255],
        orders=len(report.orders),
        not_closed=len(report.not_closed),
    )
    if wait:
        for order in report.orders:
            routing_wait(order, timeout=wait)
            order.refresh_from_db()
            if order.status != OrdStatus.FILLED:
                report.not_closed.append(
                    f"{_name(order.account, order.instrument.symbol_id_exchange)}: "
                    f"{plain(order.amount_filled)} of {plain(order.amount_order)} closed, "
                    f"order {order.client_order_id} {order.status}"
                    + (f" ({order.error_message})" if order.error_message else "")
                )
    return report


def _close(account, position, user, api_key, ip, report: FlattenReport) -> None:
    name = _name(account, position.symbol_id_exchange)
    instrument = instrument_find(venue=account.venue, symbol=position.symbol_id_exchange)
    if instrument is None:
        report.not_closed.append(f"{name}: the instrument is not known to emsweb")
        return
    quote = quote_for(instrument=instrument)
    reference = (quote.mid if quote is not None else None) or position.mark_price
    if not reference:
        report.not_closed.append(f"{name}: no reference price to price the order at")
        return
    band = _band_percent(account, user) / 100
    side = OrdSide.SELL if position.size > 0 else OrdSide.BUY
    price = reference * (1 - band) if side == OrdSide.SELL else reference * (1 + band)
    ticket = OrderTicket(
        client_order_id=f"flatten-{uuid.uuid4().hex[:24]}",
        symbol=instrument.symbol_id_coinapi,
        side=side,
        amount=abs(position.size),
        price=price,
        time_in_force=TimeInForce.IMMEDIATE_OR_CANCEL,
        exec_inst=(ExecInst.DO_NOT_INCREASE,),
    )
    try:
        order = order_submit(account=account, ticket=ticket, user=user, api_key=api_key, ip=ip)
    except OrderInvalid as refused:
        why = "; ".join(message for messages in refused.errors.values() for message in messages)
        report.not_closed.append(f"{name}: refused: {why}")
        return
    report.orders.append(order)


def _band_percent(account: ExchangeAccount, user) -> Decimal:
    rules = rules_for(account_id=account.pk, user_id=user.pk if user is not None else None)
    bands = [limits.price_band_percent for limits in rules.limits if limits.price_band_percent]
    return min(bands) if bands else FLATTEN_BAND_PERCENT


def _name(account: ExchangeAccount, symbol: str) -> str:
    return f"{account.exchange_id} {symbol}"
