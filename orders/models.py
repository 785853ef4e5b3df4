from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from venues.base import InstrumentKind, OrdSide, OrdStatus, OrdType, TimeInForce

from .statuses import TERMINAL_STATUSES

MONEY = {"max_digits": 38, "decimal_places": 18}


class Instrument(models.Model):
    """A market at a venue, with the rules an order must meet there."""

    venue = models.CharField(max_length=32)
    symbol_id_exchange = models.CharField(max_length=64)
    symbol_id_coinapi = models.CharField(max_length=100, unique=True)
    base = models.CharField(max_length=32)
    quote = models.CharField(max_length=32)
    tick_size = models.DecimalField(**MONEY)
    lot_size = models.DecimalField(**MONEY)
    min_amount = models.DecimalField(**MONEY, default=0)
    min_notional = models.DecimalField(**MONEY, default=0)
    kind = models.CharField(
        max_length=16, choices=InstrumentKind.choices, default=InstrumentKind.SPOT
    )
    # A derivative's: amounts in contracts of `contract_size` quote settled in the base
    # (inverse), or in the base settled in `settlement_asset` (linear).
    inverse = models.BooleanField(default=False)
    contract_size = models.DecimalField(**MONEY, default=1)
    settlement_asset = models.CharField(max_length=32, blank=True)
    expiry = models.DateField(null=True, blank=True)  # a future's
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["venue", "symbol_id_exchange"]
        constraints = [
            models.UniqueConstraint(
                fields=["venue", "symbol_id_exchange"], name="instrument_unique_venue_symbol"
            ),
            models.CheckConstraint(condition=Q(tick_size__gt=0), name="instrument_tick_positive"),
            models.CheckConstraint(condition=Q(lot_size__gt=0), name="instrument_lot_positive"),
        ]

    def __str__(self) -> str:
        return self.symbol_id_coinapi

    @property
    def is_derivative(self) -> bool:
        return self.kind != InstrumentKind.SPOT


class OrderOrigin(models.TextChoices):
    EMS = "EMS", "Placed through emsweb"
    EXTERNAL = "EXTERNAL", "Found at the venue, placed elsewhere"


class RejectReason(models.TextChoices):
    """Why an order was rejected, in the contract's RejectReason words where one fits."""

    LOCAL = "LOCAL", "Refused by emsweb before routing"
    VENUE = "VENUE", "Refused by the venue"
    EXCHANGE_UNREACHABLE = "EXCHANGE_UNREACHABLE", "The venue could not be reached"
    NEVER_PLACED = "NEVER_PLACED", "Outcome was unknown; the venue has no such order"


class Order(models.Model):
    """One LIMIT order, from RECEIVED to a terminal status.

    Status, amounts and fills change only through orders.lifecycle, with a guarded update.
    """

    client_order_id = models.CharField(max_length=255, unique=True)
    account = models.ForeignKey(
        "accounts.ExchangeAccount", on_delete=models.PROTECT, related_name="orders"
    )
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="orders")
    side = models.CharField(max_length=4, choices=OrdSide.choices)
    order_type = models.CharField(max_length=8, choices=OrdType.choices, default=OrdType.LIMIT)
    time_in_force = models.CharField(max_length=32, choices=TimeInForce.choices)
    expire_time = models.DateTimeField(null=True, blank=True)
    exec_inst = models.JSONField(default=list, blank=True)
    amount_order = models.DecimalField(**MONEY)
    price = models.DecimalField(**MONEY)
    amount_open = models.DecimalField(**MONEY)
    amount_filled = models.DecimalField(**MONEY, default=0)
    avg_px = models.DecimalField(**MONEY, default=0)
    status = models.CharField(max_length=20, choices=OrdStatus.choices, db_index=True)
    exchange_order_id = models.CharField(max_length=200, blank=True, db_index=True)
    client_order_id_format_exchange = models.CharField(max_length=255, blank=True)
    error_message = models.TextField(blank=True)
    reject_reason = models.CharField(max_length=32, choices=RejectReason.choices, blank=True)
    origin = models.CharField(max_length=8, choices=OrderOrigin.choices, default=OrderOrigin.EMS)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_with_key = models.ForeignKey(
        "accounts.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    canceled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    canceled_with_key = models.ForeignKey(
        "accounts.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Placed over /v1/ws with CANCEL_ON_DISCONNECT: canceled once no connection of this key has
    # been live for EMSWEB_CANCEL_ON_DISCONNECT_GRACE seconds (orders/services/disconnect.py).
    cancel_on_disconnect_key = models.ForeignKey(
        "accounts.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A fingerprint of the request that created the order: the same request again is a safe
    # retry and gets this order back; another request with the same client_order_id is refused.
    request_hash = models.CharField(max_length=64, blank=True)

    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    routing_started_at = models.DateTimeField(null=True, blank=True)
    outcome_unknown_at = models.DateTimeField(null=True, blank=True)
    not_found_lookups = models.PositiveIntegerField(default=0)
    # The largest filled amount a venue reported beyond amount_order. Such a report is refused
    # (amount_filled never exceeds the order), so this field is the durable trace of it, for a
    # person to look into: the order is not what the venue says it is.
    overfill_reported = models.DecimalField(**MONEY, null=True, blank=True)
    version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # An account's orders by status (working orders, a sync), and its history filtered by
            # status, newest first: with created_at in it, a rare status of a small account is
            # found directly instead of by scanning every order by date (bench/README.md).
            models.Index(
                fields=["account", "status", "created_at"], name="order_account_status_created"
            ),
            # Every sync asks for an account's orders changed lately (symbols in play): without
            # it, a scan of the account's whole history on every cycle.
            models.Index(fields=["account", "updated_at"], name="order_account_updated"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount_order__gt=0), name="order_amount_positive"),
            models.CheckConstraint(condition=Q(price__gt=0), name="order_price_positive"),
            models.CheckConstraint(
                condition=Q(amount_filled__gte=0) & Q(amount_filled__lte=F("amount_order")),
                name="order_filled_within_amount",
            ),
            models.CheckConstraint(condition=Q(amount_open__gte=0), name="order_open_not_negative"),
        ]

    def __str__(self) -> str:
        return self.client_order_id

    @property
    def post_only(self) -> bool:
        return "MAKER_OR_CANCEL" in self.exec_inst

    @property
    def reduce_only(self) -> bool:
        return "DO_NOT_INCREASE" in self.exec_inst

    @property
    def is_terminal(self) -> bool:
        """Filled, canceled or rejected: nothing about it changes any more."""
        return self.status in TERMINAL_STATUSES


class EventCause(models.TextChoices):
    SUBMIT = "SUBMIT"
    ROUTE = "ROUTE"
    VENUE = "VENUE"
    SYNC = "SYNC"
    RECONCILE = "RECONCILE"
    CANCEL = "CANCEL"
    EXPIRY = "EXPIRY"


class OrderEvent(models.Model):
    """One status an order entered, when, and what made it so. Append-only."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(max_length=20, choices=OrdStatus.choices)
    at = models.DateTimeField(default=timezone.now)
    cause = models.CharField(max_length=16, choices=EventCause.choices)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id} {self.status} {self.at.isoformat()}"


class Fill(models.Model):
    """One execution reported by the venue; its trade id makes a replayed fill count once."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="fills")
    trade_id = models.CharField(max_length=200)
    time = models.DateTimeField()
    price = models.DecimalField(**MONEY)
    amount = models.DecimalField(**MONEY)
    fee = models.DecimalField(**MONEY, default=0)
    fee_asset = models.CharField(max_length=32, blank=True)
    liquidity = models.CharField(max_length=8, blank=True)
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["time", "id"]
        # The trading screen's newest fills on an instrument across the desk's accounts: walked
        # newest first until enough match, not every fill sorted (372 ms over 750,000 fills).
        indexes = [models.Index(fields=["-time", "-id"], name="fill_newest")]
        constraints = [
            models.UniqueConstraint(fields=["order", "trade_id"], name="fill_unique_trade"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="fill_amount_positive"),
            models.CheckConstraint(condition=Q(price__gt=0), name="fill_price_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.amount} @ {self.price}"


class ScreenChoice(models.Model):
    """The account and instrument a user last had on the trading screen: where it opens next."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="screen_choice"
    )
    account = models.ForeignKey(
        "accounts.ExchangeAccount", on_delete=models.CASCADE, related_name="+"
    )
    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user_id}: {self.account_id} {self.instrument_id}"
