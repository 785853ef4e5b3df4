"""`--risk-limits`: every risk limit set on every scope the bench trades in (the desk, each bench
account, each bench trader), through risk.services as the admin site sets them, so that every
order is checked, locked and counted as on a desk with limits, and none is refused. What it
costs the order path: bench/README.md, "Risk limits on the order path"."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from accounts.models import DeskRole
from orders.models import Instrument
from orders.selectors import quote_for
from risk.models import RiskLimits
from risk.services import risk_limits_delete, risk_limits_save

from .fixtures import RESTING, desk_user
from .stack import wait_until

ADMIN = "bench-risk"
VENUE = "PAPER"
# Far beyond anything the bench submits (its largest order is worth about 13 USD, and a full
# run submits a few thousand orders a minute at most): checked, never reached.
GENEROUS = {
    "max_order_notional_usd": Decimal(1_000_000),
    "max_working_orders": 1_000_000,
    "max_orders_per_second": 100_000,
    "max_orders_per_minute": 1_000_000,
    "max_daily_notional_usd": Decimal(1_000_000_000_000),
    "max_position_usd": Decimal(1_000_000_000),
    # The farthest RESTING price, OXTUSD's SELL at 1 against a mid of 0.11, is 809% away.
    "price_band_percent": Decimal(10_000),
    # Beat has the paper quotes read every EMSWEB_SYNC_INTERVAL (2 s); Redis keeps them 60 s.
    "reference_max_age_seconds": 60,
}


def bench_instruments() -> list[Instrument]:
    symbols = {symbol for symbol, *_ in RESTING}
    return list(Instrument.objects.filter(venue=VENUE, symbol_id_exchange__in=symbols))


def limits_set(*, account=None, user=None) -> RiskLimits:
    """Every limit on one scope: an account, a trader, or (neither) the desk. The allowed list
    names the bench's instruments; the denied list stays empty, as every paper instrument is
    one the bench trades (an empty list is checked all the same: a set intersection)."""
    limits = RiskLimits.objects.filter(account=account, user=user).first()
    limits = limits or RiskLimits(account=account, user=user)
    values = {
        **GENEROUS,
        "allowed_instruments": "\n".join(
            sorted(instrument.symbol_id_coinapi for instrument in bench_instruments())
        ),
    }
    for name, value in values.items():
        setattr(limits, name, value)
    saved = risk_limits_save(limits=limits, user=_admin(), changed=list(values))
    if account is not None:
        quotes_fresh()
    return saved


def limits_clear() -> int:
    """Remove every scope's limits, which an earlier --risk-limits run left: a run without the
    option measures a desk without limits."""
    rows = list(RiskLimits.objects.select_related("account", "user"))
    for limits in rows:
        risk_limits_delete(limits=limits, user=_admin())
    return len(rows)


def quotes_fresh(timeout: float = 30) -> None:
    """Wait until the workers have stored a quote of each bench instrument young enough for the
    price band: without one, the band refuses the order. Beat reads a venue's quotes only once
    an enabled account trades there, so a new account may wait a tick for them."""
    instruments = bench_instruments()
    max_age = GENEROUS["reference_max_age_seconds"]

    def fresh() -> bool:
        quotes = [quote_for(instrument=instrument) for instrument in instruments]
        return all(
            quote is not None
            and quote.read_at is not None
            and (timezone.now() - quote.read_at).total_seconds() <= max_age
            for quote in quotes
        )

    wait_until("fresh paper quotes for the price band", fresh, timeout=timeout, every=0.2)


def _admin():
    return desk_user(ADMIN, DeskRole.ADMIN)
