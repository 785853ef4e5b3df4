"""Reads for the order pages: what a user may see, filtered and paged, in few queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import (
    BooleanField,
    Exists,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.utils import timezone

from accounts.models import ApiKey, ExchangeAccount
from accounts.selectors import accounts_tradable, accounts_visible
from emsweb.redis import redis_client
from venues.base import OrdStatus

from .compiled import Prepared
from .models import Instrument, Order
from .statuses import WORKING_STATUSES

S = OrdStatus


def orders_visible(*, user) -> QuerySet[Order]:
    return Order.objects.filter(account__in=accounts_visible(user=user))


def order_named(
    *,
    user,
    pk: int | None = None,
    client_order_id: str | None = None,
    exchange_order_id: str | None = None,
    exchange_id: str | None = None,
) -> QuerySet[Order]:
    """The order a user names, among those they may see, as a query (none when they may not see
    it): by pk, by client_order_id, or by exchange_order_id; exchange_id narrows any of them to
    one account."""
    if pk is None and client_order_id is None and exchange_order_id is None:
        raise TypeError("order_named needs a pk, a client_order_id or an exchange_order_id")
    named = {
        "pk": pk,
        "client_order_id": client_order_id,
        "exchange_order_id": exchange_order_id,
        "account__exchange_id": exchange_id,
    }
    return orders_visible(user=user).filter(
        **{field: value for field, value in named.items() if value is not None}
    )


def order_with_client_order_id(client_order_id: str) -> Order | None:
    """The order with this client order id, whoever placed it. Every submit asks, and almost
    always finds none: that answer is one compiled read of the id (orders.compiled)."""
    found = _ORDER_ID_NAMED.dicts(client_order_id=client_order_id)
    return Order.objects.filter(pk=found[0]["id"]).first() if found else None


def _order_id_named(*, client_order_id: str) -> QuerySet:
    return Order.objects.filter(client_order_id=client_order_id).order_by().values("id")


_ORDER_ID_NAMED = Prepared(_order_id_named, client_order_id="<client order id>")


@dataclass(frozen=True)
class OrderAccess:
    order: Order
    may_trade: bool  # the user may trade its account, through this API key if one is given


def order_get_for_user(*, user, api_key: ApiKey | None = None, **name) -> OrderAccess | None:
    """The order a user (or their API key) names, by the names `order_named` takes, and whether
    they may trade it, in one query; None when they may not see it. Every page and endpoint
    asks here."""
    tradable = accounts_tradable(user=user, api_key=api_key).filter(pk=OuterRef("account_id"))
    order = (
        order_named(user=user, **name)
        .select_related("account", "instrument", "created_by", "canceled_by")
        .annotate(tradable=Exists(tradable))
        .first()
    )
    if order is None:
        return None
    return OrderAccess(order=order, may_trade=order.tradable)


def blotter_orders(*, user) -> QuerySet:
    """Working orders, newest first, as order_rows: one query."""
    return order_rows(
        orders_visible(user=user).filter(status__in=WORKING_STATUSES).order_by("-created_at", "-id")
    )


def order_rows(orders: QuerySet[Order]) -> QuerySet:
    """`orders` as the values a blotter or history row shows, and no model instances: building
    500 of them cost more than the rest of a blotter render."""
    return orders.values(
        *("pk", "client_order_id", "created_at", "status", "side", "account_id"),
        *("amount_order", "price", "amount_filled", "avg_px"),
        *("routing_started_at", "outcome_unknown_at"),
        account_name=F("account__exchange_id"),
        symbol=F("instrument__symbol_id_coinapi"),
        lot_size=F("instrument__lot_size"),
        tick_size=F("instrument__tick_size"),
        placed_by=F("created_by__username"),
    )


def recently_settled(*, user, seconds: int = 15, account=None) -> QuerySet[Order]:
    """Orders that filled or were rejected in the last few seconds (of one account, if given):
    the blotter and the trading screen toast them."""
    since = timezone.now() - timedelta(seconds=seconds)
    orders = orders_visible(user=user)
    if account is not None:
        orders = orders.filter(account=account)
    return (
        orders.filter(status__in=(S.FILLED, S.REJECTED), updated_at__gte=since)
        .only("client_order_id", "status", "error_message", "updated_at")
        .order_by("-updated_at")[:10]
    )


def is_reconciling(order: Order) -> bool:
    """Still ROUTING past the reconciliation threshold: its outcome is not known yet."""
    return reconciling(
        status=order.status,
        routing_started_at=order.routing_started_at,
        outcome_unknown_at=order.outcome_unknown_at,
        now=timezone.now(),
    )


def reconciling(*, status, routing_started_at, outcome_unknown_at, now) -> bool:
    if status != S.ROUTING or routing_started_at is None:
        return False
    age = (now - routing_started_at).total_seconds()
    return outcome_unknown_at is not None or age > settings.EMSWEB_RECONCILE_AFTER


@dataclass(frozen=True)
class HistoryPage:
    orders: list[dict]  # order_rows
    next_cursor: str | None


def history_filter(*, user, filters: dict) -> QuerySet[Order]:
    orders = orders_visible(user=user)
    if filters.get("account"):
        orders = orders.filter(account=filters["account"])
    if filters.get("venue"):
        orders = orders.filter(account__venue=filters["venue"].upper())
    if filters.get("instrument"):
        symbol = filters["instrument"]
        orders = orders.filter(
            Q(instrument__symbol_id_coinapi=symbol)
            | Q(instrument__symbol_id_exchange=symbol.replace("/", ""))
        )
    if filters.get("side"):
        orders = orders.filter(side=filters["side"])
    if filters.get("status"):
        orders = orders.filter(status=filters["status"])
    if filters.get("user"):
        orders = orders.filter(created_by__username=filters["user"])
    if filters.get("date_from"):
        start = datetime.combine(filters["date_from"], time.min, tzinfo=UTC)
        orders = orders.filter(created_at__gte=start)
    if filters.get("date_to"):
        end = datetime.combine(filters["date_to"], time.max, tzinfo=UTC)
        orders = orders.filter(created_at__lte=end)
    if filters.get("q"):
        orders = orders.filter(Q(client_order_id=filters["q"]) | Q(exchange_order_id=filters["q"]))
    return orders


def history_page(*, user, filters: dict, cursor: str | None = None) -> HistoryPage:
    """Keyset pagination on (created_at, id): as fast on page 10,000 as on page 1."""
    ascending = filters.get("sort") == "created"
    orders = history_filter(user=user, filters=filters)
    if cursor:
        try:
            moment_text, pk_text = cursor.split("|")
            moment, pk = datetime.fromisoformat(moment_text), int(pk_text)
        except ValueError:
            moment = None
        if moment is not None:
            # The bound on created_at alone is implied by the rest, but it is what lets the
            # index start at the cursor instead of reading every newer row up to it.
            after = Q(created_at__gte=moment) & (Q(created_at__gt=moment) | Q(id__gt=pk))
            before = Q(created_at__lte=moment) & (Q(created_at__lt=moment) | Q(id__lt=pk))
            orders = orders.filter(after if ascending else before)
    orders = orders.order_by(*(("created_at", "id") if ascending else ("-created_at", "-id")))
    size = settings.EMSWEB_HISTORY_PAGE_SIZE
    rows = list(order_rows(orders)[: size + 1])
    next_cursor = None
    if len(rows) > size:
        rows = rows[:size]
        last = rows[-1]
        next_cursor = f"{last['created_at'].isoformat()}|{last['pk']}"
    return HistoryPage(rows, next_cursor)


def instruments_for_ticket(*, accounts) -> QuerySet[Instrument]:
    venues = {account.venue for account in accounts}
    return Instrument.objects.filter(venue__in=venues, active=True).order_by("symbol_id_coinapi")


@dataclass(frozen=True)
class Quote:
    bid: Decimal | None
    ask: Decimal | None
    last: Decimal | None
    read_at: datetime | None = None  # when a worker read it from the venue

    @property
    def has_book(self) -> bool:
        """Both sides priced. A venue may show 0 for a side it has none of (a halted market)."""
        return bool(self.bid and self.ask and self.bid > 0 and self.ask > 0)

    @property
    def mid(self) -> Decimal | None:
        """The book's mid, else the last trade; None when neither is a price."""
        if self.has_book:
            return (self.bid + self.ask) / 2
        return self.last if self.last and self.last > 0 else None


def quote_for(*, instrument: Instrument) -> Quote | None:
    """The latest quote the workers stored for this instrument (orders.quotes)."""
    raw = redis_client().hget(f"emsweb:quotes:{instrument.venue}", instrument.symbol_id_exchange)
    if not raw:
        return None
    bid, ask, last, *read = raw.decode().split("|")
    read_at = datetime.fromtimestamp(float(read[0]), UTC) if read and read[0] else None
    return Quote(*(Decimal(part) if part else None for part in (bid, ask, last)), read_at)


class JSONListHas(Func):
    """The JSON list in `field` has `element` among its elements, as `element in list` says in
    Python, tested in SQL: a read that needs only that brings back a boolean instead of every
    row's list to parse. PostgreSQL asks its containment operator; SQLite, which has none,
    searches the list's elements."""

    output_field = BooleanField()

    def __init__(self, field: str, element: str):
        super().__init__(F(field), Value(element))

    def as_sql(self, compiler, connection, **extra):
        (field, field_params), (element, element_params) = self._compiled(compiler)
        return (
            f"EXISTS (SELECT 1 FROM json_each({field}) WHERE json_each.value = {element})",
            (*field_params, *element_params),
        )

    def as_postgresql(self, compiler, connection, **extra):
        (field, field_params), (element, element_params) = self._compiled(compiler)
        return (
            f"({field} @> jsonb_build_array({element}::text))",
            (*field_params, *element_params),
        )

    def _compiled(self, compiler) -> list[tuple[str, list]]:
        return [compiler.compile(expression) for expression in self.get_source_expressions()]


def open_order_count(*, accounts) -> int:
    return Order.objects.filter(account__in=accounts, status__in=WORKING_STATUSES).count()


def fees_by_asset(order: Order) -> dict[str, Decimal]:
    totals = order.fills.values("fee_asset").annotate(total=Sum("fee")).order_by("fee_asset")
    return {row["fee_asset"]: row["total"] for row in totals}


def order_for_venue_report(account: ExchangeAccount, report) -> Order | None:
    orders = Order.objects.filter(account=account)
    if report.client_order_id:
        # The venue names an order by the client order id it was sent, which is ours or, where
        # ours did not fit its format, the one recorded in client_order_id_format_exchange.
        found = (
            orders.filter(client_order_id=report.client_order_id).first()
            or orders.filter(client_order_id_format_exchange=report.client_order_id).first()
        )
        if found is not None:
            return found
    if not report.exchange_order_id:
        return None
    return orders.filter(exchange_order_id=report.exchange_order_id).first()
