"""The risk check of one order, in the submit service, before anything is written.

Two steps. `risk_check` reads the rules (one read of their copy in Redis) and refuses what the
order alone shows: a trading state, an instrument not allowed, an order too large, a price
outside the band. `risk_count`, inside the transaction that writes the order, refuses what
depends on the scope's other orders (working orders, orders per second and per minute, notional
per UTC day): it adds the order to the day's usage of each scope whose limits count, which
locks those rows, so submits of one scope count and write one at a time and concurrent ones
cannot together pass a limit, then counts (a refusal rolls the addition back with the rest).
A refusal names the limit, its value and the attempted figure, against the field of the order
it concerns.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Context, Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.db.models import Q, Sum
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import ApiKey, AuditAction, Balance, ExchangeAccount
from emsweb.metrics import count_risk_refusal
from orders.models import Instrument, Order, OrderOrigin
from orders.money import plain
from orders.selectors import quote_for
from orders.statuses import WORKING_STATUSES
from positions.selectors import position_held
from venues.base import OrdSide

from .models import DESK, RiskUsage, TradingState
from .rules import Limits, ScopeRules, rules_for

USD = "USD"
SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
# What a scope's usage counts (risk.selectors shows the same): its working orders, of any
# origin, and the orders the desk accepted for it lately.
WORKING = Q(status__in=WORKING_STATUSES)


def accepted_since(moment: datetime) -> Q:
    return Q(origin=OrderOrigin.EMS, created_at__gt=moment)


@dataclass(frozen=True)
class Attempt:
    """The order as the submit would write it (rounded to the instrument)."""

    account: ExchangeAccount
    user: AbstractBaseUser | None
    instrument: Instrument
    side: str
    amount: Decimal
    price: Decimal
    reduce_only: bool = False  # DO_NOT_INCREASE, on a derivative


@dataclass(frozen=True)
class Refusal:
    field: str  # the order's field it concerns, as the API names them
    limit: str  # the limit's name, as RiskLimits names it (or "trading_state")
    scope: str
    message: str


class RiskRefused(Exception):
    """The order breaks the limits or the trading state of a scope. Nothing was written."""

    def __init__(self, refusals: list[Refusal]):
        super().__init__(refusals)
        self.refusals = refusals

    @property
    def errors(self) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        for refusal in self.refusals:
            errors.setdefault(refusal.field, []).append(refusal.message)
        return errors


@dataclass(frozen=True)
class Passed:
    """What the first step learnt, for the second: the rules, and the order's USD value."""

    rules: ScopeRules
    notional_usd: Decimal | None


def risk_check(attempt: Attempt) -> Passed:
    """Refuse (RiskRefused) what the order shows on its own; with no rules, one Redis read."""
    user_id = attempt.user.pk if attempt.user is not None else None
    rules = rules_for(account_id=attempt.account.pk, user_id=user_id)
    if not rules:
        return Passed(rules, None)
    refusals = [refusal for scope in rules.states for refusal in _state_refusals(scope, attempt)]
    notional_usd = None
    # Counted into the day's usage too, wherever a scope counts (shown on the risk page).
    if any(limits.needs_notional or limits.counts_usage for limits in rules.limits):
        notional_usd = _usd_value(attempt)
    if notional_usd is None and any(limits.needs_notional for limits in rules.limits):
        refusals.append(_no_usd_rate(rules, attempt))
    quote = None
    position_usd = _position_usd(attempt, rules)
    for limits in rules.limits:
        refusals += _instrument_refusals(limits, attempt)
        refusals += _order_notional_refusals(limits, notional_usd)
        refusals += _position_refusals(limits, position_usd)
        if limits.price_band_percent is not None:
            quote = quote or quote_for(instrument=attempt.instrument)
            refusals += _band_refusals(limits, attempt, quote)
    if refusals:
        raise RiskRefused(refusals)
    return Passed(rules, notional_usd)


def risk_count(attempt: Attempt, passed: Passed) -> datetime | None:
    """Inside the transaction that writes the order: count the order into the usage of each
    scope whose limits count (which locks it), and refuse (RiskRefused, which must roll that
    transaction back) an order that takes one past a limit. Returns the moment it was accepted,
    which the order must carry as its created_at (the rate limits count orders by it), or None
    when no limit counts."""
    counted = [limits for limits in passed.rules.limits if limits.counts_usage]
    if not counted:
        return None
    # The count follows the usage rows' lock: every order of the scopes accepted before this one
    # is counted. One round trip for both (see _usage_and_figures).
    day_totals, figures = _usage_and_figures(counted, attempt, passed.notional_usd)
    refusals = [
        refusal
        for limits in counted
        for refusal in _usage_refusals(
            limits, figures[limits.scope], day_totals[limits.scope], passed
        )
    ]
    if refusals:
        raise RiskRefused(refusals)
    # Taken after the counting: later than the moment the windows were counted back from, so
    # the order stays in later windows a little longer, never shorter.
    return timezone.now()


def risk_refusal_record(
    refused: RiskRefused,
    *,
    attempt: Attempt,
    client_order_id: str,
    api_key: ApiKey | None = None,
    ip: str | None = None,
) -> None:
    """What a refused order leaves: an audit entry and a count per limit, nothing else."""
    audit_record(
        action=AuditAction.RISK_REFUSED,
        actor=attempt.user,
        api_key=api_key,
        ip=ip,
        target=client_order_id[:255],
        account=attempt.account.exchange_id,
        symbol=attempt.instrument.symbol_id_coinapi,
        side=attempt.side,
        amount=attempt.amount,
        price=attempt.price,
        limits=", ".join(sorted({refusal.limit for refusal in refused.refusals})),
        message=" ".join(refusal.message for refusal in refused.refusals),
    )
    for refusal in refused.refusals:
        count_risk_refusal(refusal.scope.split(":")[0], refusal.limit)


# --- what the order shows on its own ----------------------------------------------------------


def _state_refusals(scope_state: tuple[str, str, str], attempt: Attempt) -> list[Refusal]:
    scope, label, state = scope_state
    if state == TradingState.HALTED:
        message = f"Trading is halted on {label}: no new orders until a desk admin resumes it."
        return [Refusal("exchange_id", "trading_state", scope, message)]
    if state != TradingState.REDUCING:
        return []
    # Reducing: selling what is held on spot; on a derivative, reduce-only orders (whose
    # check against the position is the order's own).
    if attempt.instrument.is_derivative:
        if attempt.reduce_only:
            return []
        message = (
            f"Trading on {label} is reducing only: on a derivative, reduce-only orders "
            "(exec_inst DO_NOT_INCREASE) only."
        )
        return [Refusal("exec_inst", "trading_state", scope, message)]
    if attempt.side != OrdSide.SELL:
        message = (
            f"Trading on {label} is reducing only: SELL orders only, this one is {attempt.side}."
        )
        return [Refusal("side", "trading_state", scope, message)]
    return []


def _instrument_refusals(limits: Limits, attempt: Attempt) -> list[Refusal]:
    instrument = attempt.instrument
    names = {instrument.symbol_id_coinapi.upper(), f"{instrument.base}/{instrument.quote}".upper()}
    shown = f"{instrument.base}/{instrument.quote} ({instrument.symbol_id_coinapi})"
    refusals = []
    if limits.allowed_instruments and not names & limits.allowed_instruments:
        refusals.append(
            Refusal(
                "symbol_id_exchange",
                "allowed_instruments",
                limits.scope,
                f"Allowed instruments for {limits.label}: "
                f"{', '.join(sorted(limits.allowed_instruments))}; {shown} is not one of them.",
            )
        )
    if names & limits.denied_instruments:
        refusals.append(
            Refusal(
                "symbol_id_exchange",
                "denied_instruments",
                limits.scope,
                f"Denied instruments for {limits.label}: "
                f"{', '.join(sorted(limits.denied_instruments))}; {shown} is denied.",
            )
        )
    return refusals


def _order_notional_refusals(limits: Limits, notional_usd: Decimal | None) -> list[Refusal]:
    limit = limits.max_order_notional_usd
    if limit is None or notional_usd is None or notional_usd <= limit:
        return []
    message = (
        f"Max notional of one order for {limits.label}: {_usd(limit)}; this order is "
        f"{_usd(notional_usd)}."
    )
    return [Refusal("amount_order", "max_order_notional_usd", limits.scope, message)]


def _position_usd(attempt: Attempt, rules: ScopeRules) -> Decimal | None:
    """On a derivative, with a position limit in force and an order that may grow the position:
    the largest position it could leave in USD (the last reported, with the account's working
    orders of the order's side and the order itself), valued at the order's price."""
    if (
        not attempt.instrument.is_derivative
        or attempt.reduce_only
        or all(limits.max_position_usd is None for limits in rules.limits)
    ):
        return None
    instrument = attempt.instrument
    size, _ = position_held(
        account_id=attempt.account.pk, symbol_id_exchange=instrument.symbol_id_exchange
    )
    working = Order.objects.filter(
        account=attempt.account,
        instrument=instrument,
        side=attempt.side,
        status__in=WORKING_STATUSES,
    ).aggregate(total=Sum("amount_open"))["total"] or Decimal(0)
    direction = 1 if attempt.side == OrdSide.BUY else -1
    reach = abs(size + direction * (working + attempt.amount))
    return _usd_value(replace(attempt, amount=reach))


def _position_refusals(limits: Limits, position_usd: Decimal | None) -> list[Refusal]:
    limit = limits.max_position_usd
    if limit is None or position_usd is None or position_usd <= limit:
        return []
    message = (
        f"Max position per instrument for {limits.label}: {_usd(limit)}; with this order and "
        f"the working ones of its side it could reach {_usd(position_usd)}."
    )
    return [Refusal("amount_order", "max_position_usd", limits.scope, message)]


def _band_refusals(limits: Limits, attempt: Attempt, quote) -> list[Refusal]:
    band = limits.price_band_percent
    reference = quote.mid if quote is not None else None
    max_age = limits.reference_max_age_seconds
    fresh = (
        quote is not None
        and quote.read_at is not None
        and (timezone.now() - quote.read_at).total_seconds() <= max_age
    )
    if reference is None or not fresh:
        message = (
            f"Price band of {plain(band)}% for {limits.label}: no reference price of "
            f"{attempt.instrument.symbol_id_coinapi} fresher than {max_age} s, so the band "
            "cannot be checked and the order is refused."
        )
        return [Refusal("price", "price_band_percent", limits.scope, message)]
    distance = abs(attempt.price - reference) / reference * 100
    if distance <= band:
        return []
    kind = "mid" if quote.has_book else "last"
    message = (
        f"Price band for {limits.label}: {plain(band)}% from the reference price; "
        f"{plain(attempt.price)} is {distance.quantize(Decimal('0.01'))}% from "
        f"{plain(reference)} ({kind})."
    )
    return [Refusal("price", "price_band_percent", limits.scope, message)]


def _usd_value(attempt: Attempt) -> Decimal | None:
    """The order's notional in USD: in its quote asset, at the USD rate its venue last gave."""
    notional = attempt.amount * attempt.price
    if attempt.instrument.inverse:  # contracts worth their size in the quote asset
        notional = attempt.amount * attempt.instrument.contract_size
    quote = attempt.instrument.quote
    if quote.upper() == USD:
        return notional
    rate = (
        Balance.objects.filter(account=attempt.account, rate_usd__isnull=False)
        .filter(Q(asset_id_exchange=quote) | Q(asset_id_coinapi=quote))
        .values_list("rate_usd", flat=True)
        .first()
    )
    return None if rate is None else notional * rate


def _no_usd_rate(rules: ScopeRules, attempt: Attempt) -> Refusal:
    limits = next(limits for limits in rules.limits if limits.needs_notional)
    name = (
        "max_order_notional_usd"
        if limits.max_order_notional_usd is not None
        else "max_daily_notional_usd"
    )
    quote = attempt.instrument.quote
    message = (
        f"Notional limits for {limits.label} are in USD, and no USD rate of {quote} is known on "
        f"{attempt.account.exchange_id}: the order is refused until a balance read gives one."
    )
    return Refusal("amount_order", name, limits.scope, message)


# --- what depends on the scope's other orders -------------------------------------------------


def _usage_and_figures(
    counted: list[Limits], attempt: Attempt, notional_usd: Decimal | None
) -> tuple[dict[str, Decimal], dict[str, Figures]]:
    """Add the order to today's usage of each scope and lock those rows (_usage_sql), then count
    what the scopes' limits need (_figures_sql): each scope's notional of the day, this order's
    included, and its figures. On PostgreSQL the two statements go as one batch, one round trip
    on the path of every order; the count, a statement of its own in the batch, starts after the
    upsert has taken the locks, so it reads what the submits before this one committed."""
    usage_sql, usage_params = _usage_sql([limits.scope for limits in counted], notional_usd)
    counting = _figures_sql(counted, attempt, timezone.now())
    values = None
    with connection.cursor() as cursor:
        if counting is not None and connection.vendor == "postgresql":
            cursor.execute(f"{usage_sql}; {counting.sql}", usage_params + counting.params)
            day_totals = cursor.fetchall()
            cursor.nextset()
            values = cursor.fetchone()
        else:
            cursor.execute(usage_sql, usage_params)
            day_totals = cursor.fetchall()
            if counting is not None:
                cursor.execute(counting.sql, counting.params)
                values = cursor.fetchone()
    totals = {scope: _decimal(total) for scope, total in day_totals}
    return totals, _figures_read(counted, counting, values)


def _usage_sql(scopes: list[str], notional_usd: Decimal | None) -> tuple[str, list]:
    """Add one order of `notional_usd` to today's usage of each scope (its row made if missing),
    keeping those rows locked until the transaction ends; it returns each scope's notional of
    the day.

    One statement takes every row, in scope order, whether it existed or not. Locking the rows
    found and then making the missing one took them out of order: a submit that started before
    another made a scope's row, and one that started after, each held a row the other waited
    for (tests/risk/test_concurrency.py)."""
    table = connection.ops.quote_name(RiskUsage._meta.db_table)
    scopes = sorted(scopes)
    today = timezone.now().date()
    params = [value for scope in scopes for value in (scope, today, notional_usd or 0)]
    sql = (
        f"INSERT INTO {table} (scope, day, orders, notional_usd)"
        f" VALUES {', '.join(['(%s, %s, 1, %s)'] * len(scopes))}"
        f" ON CONFLICT (scope, day) DO UPDATE SET orders = {table}.orders + 1,"
        f" notional_usd = {table}.notional_usd + excluded.notional_usd"
        " RETURNING scope, notional_usd"
    )
    return sql, params


def _decimal(value: object) -> Decimal:
    if isinstance(value, Decimal):
        return value
    # SQLite adds in floating point: 15 significant digits, as Django reads a DecimalField there.
    return Context(prec=15).create_decimal_from_float(float(value))


@dataclass(frozen=True)
class Figures:
    """A scope's counts; those its limits do not need are left at 0."""

    working: int = 0
    last_second: int = 0
    last_minute: int = 0


@dataclass(frozen=True)
class Counted:
    """Part of the statement that counts: a derived table of one row, and what each column is."""

    sql: str
    params: list
    columns: list[tuple[str, str]]  # (scope, figure)


def _figures_sql(counted: list[Limits], attempt: Attempt, now: datetime) -> Counted | None:
    """The statement that counts each scope's working orders and its orders of the last second
    and minute, as far as its limits need them (None when only the daily notional counts): the
    working orders read once (on the status index) and the last minute's once (on created_at),
    whatever the number of scopes.

    Written in SQL: the ORM took longer to build the statement than PostgreSQL to run it. It
    counts what WORKING and accepted_since select, as the risk page does."""
    moment = connection.ops.adapt_datetimefield_value
    by_working = [limits.scope for limits in counted if limits.max_working_orders is not None]
    by_rate = [limits.scope for limits in counted if limits.counts_rate]
    parts = []
    if by_working:
        rows = f"status IN ({', '.join(['%s'] * len(WORKING_STATUSES))})"
        figures = {"working": ("", [])}
        parts.append(_counted(by_working, attempt, figures, rows, sorted(WORKING_STATUSES)))
    if by_rate:
        rows = "origin = %s AND created_at > %s"
        figures = {
            "last_minute": ("", []),
            "last_second": ("created_at > %s", [moment(now - SECOND)]),
        }
        parts.append(
            _counted(by_rate, attempt, figures, rows, [OrderOrigin.EMS, moment(now - MINUTE)])
        )
    if not parts:
        return None
    tables = ", ".join(f"({part.sql}) AS counted{index}" for index, part in enumerate(parts))
    return Counted(
        f"SELECT * FROM {tables}",
        [value for part in parts for value in part.params],
        [column for part in parts for column in part.columns],
    )


def _figures_read(
    counted: list[Limits], counting: Counted | None, values: tuple | None
) -> dict[str, Figures]:
    found: dict[str, dict[str, int]] = {limits.scope: {} for limits in counted}
    if counting is not None:
        for (scope, figure), value in zip(counting.columns, values, strict=True):
            found[scope][figure] = value
    return {scope: Figures(**counts) for scope, counts in found.items()}


def _counted(
    scopes: list[str],
    attempt: Attempt,
    figures: dict[str, tuple[str, list]],
    rows: str,
    rows_params: list,
) -> Counted:
    """Count, per scope and figure, the orders that `rows` selects and the figure's own condition
    narrows. Only the scopes' orders are read, unless one of them is the desk."""
    columns, params, names = [], [], []
    for scope in scopes:
        of_scope = _orders_of(scope, attempt)
        for figure, narrower in figures.items():
            conditions = [condition for condition in (of_scope, narrower) if condition[0]]
            where = " AND ".join(sql for sql, _ in conditions)
            columns.append(f"count(*) FILTER (WHERE {where})" if where else "count(*)")
            params += [value for _, values in conditions for value in values]
            names.append((scope, figure))
    if DESK not in scopes:
        ofs = [_orders_of(scope, attempt) for scope in scopes]
        rows = f"{rows} AND ({' OR '.join(sql for sql, _ in ofs)})"
        rows_params = rows_params + [value for _, values in ofs for value in values]
    table = connection.ops.quote_name(Order._meta.db_table)
    sql = f"SELECT {', '.join(columns)} FROM {table} WHERE {rows}"
    return Counted(sql, params + rows_params, names)


def _orders_of(scope: str, attempt: Attempt) -> tuple[str, list]:
    """The condition, in SQL, that an order is of the scope (none for the desk)."""
    if scope == DESK:
        return "", []
    if scope.startswith("account:"):
        return "account_id = %s", [attempt.account.pk]
    return "created_by_id = %s", [attempt.user.pk]


def _usage_refusals(
    limits: Limits, figures: Figures, day_total: Decimal, passed: Passed
) -> list[Refusal]:
    checks = [
        ("max_working_orders", figures.working, "working orders", "working"),
        ("max_orders_per_second", figures.last_second, "orders per second", "in the last second"),
        ("max_orders_per_minute", figures.last_minute, "orders per minute", "in the last minute"),
    ]
    refusals = []
    for name, count, what, when in checks:
        limit = getattr(limits, name)
        if limit is not None and count + 1 > limit:
            message = (
                f"Max {what} for {limits.label}: {limit}; {count} {when} already, this order "
                f"would make {count + 1}."
            )
            refusals.append(Refusal("exchange_id", name, limits.scope, message))
    daily = limits.max_daily_notional_usd
    if daily is not None and passed.notional_usd is not None and day_total > daily:
        message = (
            f"Max notional per UTC day for {limits.label}: {_usd(daily)}; "
            f"{_usd(day_total - passed.notional_usd)} submitted today, this order of "
            f"{_usd(passed.notional_usd)} would make {_usd(day_total)}."
        )
        refusals.append(Refusal("amount_order", "max_daily_notional_usd", limits.scope, message))
    return refusals


def _usd(amount: Decimal) -> str:
    return f"{plain(amount.quantize(Decimal('0.01')))} USD"
