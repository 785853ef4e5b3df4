"""The paper exchange's own record: its markets, accounts, balances, orders and trades.

These tables are the venue side of the boundary. The EMS reads them only through
`venues.paper.adapter.PaperVenue`; reliability checks may compare them with its orders.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from venues.base import OrdSide, TimeInForce

MONEY = {"max_digits": 38, "decimal_places": 18}


class PaperMarket(models.Model):
    """The moving state of one market; its rules are in `venues.paper.markets.MARKETS`."""

    symbol = models.CharField(max_length=32, unique=True)
    mid = models.DecimalField(**MONEY)
    step = models.PositiveBigIntegerField(default=0)
    stepped_at = models.DateTimeField()
    # Base amount taken from each synthetic level during this step, as decimal strings by level:
    # {"bids": ["0", "0.3", ...], "asks": [...]}. Every step starts with a fresh book.
    consumed = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["symbol"]
        constraints = [models.CheckConstraint(condition=Q(mid__gt=0), name="paper_mid_positive")]

    def __str__(self) -> str:
        return f"{self.symbol} {self.mid} (step {self.step})"


class Fault(models.TextChoices):
    NONE = "NONE"
    UNREACHABLE = "UNREACHABLE", "Unreachable: every call fails, nothing happens"
    TIMEOUT_BEFORE_ACCEPT = "TIMEOUT_BEFORE_ACCEPT", "Submit/cancel time out, nothing happens"
    TIMEOUT_AFTER_ACCEPT = "TIMEOUT_AFTER_ACCEPT", "Submit/cancel happen, then time out"


class PaperAccount(models.Model):
    """One account at the paper exchange, keyed by the EMS's exchange id (`PAPER/DEMO`).

    The knobs (latency, fault) are stored here so that a test process can set them for a
    worker process.
    """

    account_key = models.CharField(max_length=100, unique=True)
    latency_ms = models.PositiveIntegerField(default=0)
    fault = models.CharField(max_length=32, choices=Fault.choices, default=Fault.NONE)
    # How long a TIMEOUT_* fault waits before raising, as a client waits for its timeout.
    fault_delay_ms = models.PositiveIntegerField(default=5000)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["account_key"]

    def __str__(self) -> str:
        return self.account_key


class PaperBalance(models.Model):
    """An account's holding of one asset; `locked` is reserved by its resting orders."""

    account = models.ForeignKey(PaperAccount, on_delete=models.CASCADE, related_name="balances")
    asset = models.CharField(max_length=32)
    total = models.DecimalField(**MONEY, default=0)
    locked = models.DecimalField(**MONEY, default=0)

    class Meta:
        ordering = ["account", "asset"]
        constraints = [
            models.UniqueConstraint(fields=["account", "asset"], name="paper_balance_unique"),
            models.CheckConstraint(
                condition=Q(locked__gte=0) & Q(total__gte=F("locked")),
                name="paper_balance_locked_within_total",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.asset} {self.total}"

    @property
    def available(self) -> Decimal:
        return self.total - self.locked


class PaperStatus(models.TextChoices):
    """The statuses a paper order can have; the values are the contract's OrdStatus values."""

    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"


OPEN_STATUSES = (PaperStatus.NEW, PaperStatus.PARTIALLY_FILLED)


class PaperOrder(models.Model):
    """One limit order as the paper exchange knows it."""

    account = models.ForeignKey(PaperAccount, on_delete=models.CASCADE, related_name="orders")
    client_order_id = models.CharField(max_length=255, blank=True)
    symbol = models.CharField(max_length=32)
    side = models.CharField(max_length=4, choices=OrdSide.choices)
    price = models.DecimalField(**MONEY)
    amount = models.DecimalField(**MONEY)
    filled = models.DecimalField(**MONEY, default=0)
    notional = models.DecimalField(**MONEY, default=0)  # sum of price * amount over its trades
    # Funds reserved for the unfilled part: quote for a BUY, base for a SELL.
    locked = models.DecimalField(**MONEY, default=0)
    status = models.CharField(max_length=20, choices=PaperStatus.choices)
    time_in_force = models.CharField(max_length=32, choices=TimeInForce.choices)
    expire_time = models.DateTimeField(null=True, blank=True)
    post_only = models.BooleanField(default=False)
    reduce_only = models.BooleanField(default=False)  # a derivative's DO_NOT_INCREASE
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["symbol", "status"], name="paper_order_symbol_status")]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "client_order_id"],
                condition=~Q(client_order_id=""),
                name="paper_order_unique_client_order_id",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="paper_order_amount_positive"),
            models.CheckConstraint(condition=Q(price__gt=0), name="paper_order_price_positive"),
            models.CheckConstraint(
                condition=Q(filled__gte=0) & Q(filled__lte=F("amount")),
                name="paper_order_filled_within_amount",
            ),
            models.CheckConstraint(condition=Q(locked__gte=0), name="paper_order_locked_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.exchange_order_id} {self.side} {self.amount} {self.symbol} @ {self.price}"

    @property
    def exchange_order_id(self) -> str:
        return f"P{self.pk:010d}"

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.filled

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def avg_price(self) -> Decimal:
        if not self.filled:
            return Decimal(0)
        return (self.notional / self.filled).quantize(Decimal("1e-10"))


def pk_from_exchange_order_id(exchange_order_id: str) -> int | None:
    digits = exchange_order_id.removeprefix("P")
    return int(digits) if digits.isdigit() else None


class Liquidity(models.TextChoices):
    MAKER = "MAKER"
    TAKER = "TAKER"


class PaperTrade(models.Model):
    """One execution of a paper order. Its id only grows, so it serves as the fills cursor."""

    order = models.ForeignKey(PaperOrder, on_delete=models.CASCADE, related_name="trades")
    price = models.DecimalField(**MONEY)
    amount = models.DecimalField(**MONEY)
    fee = models.DecimalField(**MONEY, default=0)
    fee_asset = models.CharField(max_length=32)
    liquidity = models.CharField(max_length=5, choices=Liquidity.choices)
    time = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="paper_trade_amount_positive"),
            models.CheckConstraint(condition=Q(price__gt=0), name="paper_trade_price_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.pk} {self.amount} @ {self.price}"


class PaperRequest(models.Model):
    """An order-entry request as the exchange received it: the record that proves, for
    instance, that a create was never sent twice. A request lost on the way is not here."""

    class Kind(models.TextChoices):
        SUBMIT = "SUBMIT"
        CANCEL = "CANCEL"
        CANCEL_ALL = "CANCEL_ALL"

    account = models.ForeignKey(PaperAccount, on_delete=models.CASCADE, related_name="requests")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    client_order_id = models.CharField(max_length=255, blank=True, db_index=True)
    exchange_order_id = models.CharField(max_length=32, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["received_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.client_order_id or self.exchange_order_id}"


class PaperCandle(models.Model):
    """One minute of a market (OHLCV): its mid at each step and the prices of its trades, and the
    base amount traded. Only the last `candles.KEPT` minutes are kept."""

    symbol = models.CharField(max_length=32)
    start = models.DateTimeField()  # the minute's first second, UTC
    open = models.DecimalField(**MONEY)
    high = models.DecimalField(**MONEY)
    low = models.DecimalField(**MONEY)
    close = models.DecimalField(**MONEY)
    volume = models.DecimalField(**MONEY, default=0)

    class Meta:
        ordering = ["symbol", "start"]
        constraints = [
            models.UniqueConstraint(fields=["symbol", "start"], name="paper_candle_unique_minute")
        ]

    def __str__(self) -> str:
        return f"{self.symbol} {self.start:%H:%M} {self.close}"


class PaperPosition(models.Model):
    """An account's position in one derivative market, and the leverage and margin mode it
    trades it with (kept while flat). `size` is signed: long above zero, short below.

    `margin` is the initial margin the position holds, locked in the settlement asset's balance;
    `realized_pnl`, `fees` and `funding` add up what has gone through the wallet because of it
    (funding received is positive)."""

    account = models.ForeignKey(PaperAccount, on_delete=models.CASCADE, related_name="positions")
    symbol = models.CharField(max_length=32)
    size = models.DecimalField(**MONEY, default=0)
    entry_price = models.DecimalField(**MONEY, default=0)
    margin = models.DecimalField(**MONEY, default=0)
    realized_pnl = models.DecimalField(**MONEY, default=0)
    fees = models.DecimalField(**MONEY, default=0)
    funding = models.DecimalField(**MONEY, default=0)
    leverage = models.DecimalField(max_digits=10, decimal_places=2, default=1)
    cross = models.BooleanField(default=False)
    funded_at = models.DateTimeField(null=True, blank=True)  # the last funding time charged
    liquidated_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["account", "symbol"]
        constraints = [
            models.UniqueConstraint(fields=["account", "symbol"], name="paper_position_unique"),
            models.CheckConstraint(condition=Q(margin__gte=0), name="paper_position_margin"),
            models.CheckConstraint(condition=Q(leverage__gte=1), name="paper_position_leverage"),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.symbol} {self.size}"
