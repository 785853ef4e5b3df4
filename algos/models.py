"""Parent orders, their schedule and their history.

A parent owns child orders. A child is an ordinary orders.Order whose client order id is derived
from the parent and the slice number (`child_client_order_id`), so the same slice can never be
placed twice: orders.Order's unique client order id refuses it.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from orders.models import MONEY

CHILD_PREFIX = "algo-"


class Algorithm(models.TextChoices):
    TWAP = "TWAP"
    VWAP = "VWAP"
    ICEBERG = "ICEBERG"


class ParentStatus(models.TextChoices):
    """The contract's words (Running, Cancelled, Completed) and emsweb's Paused and Stopped."""

    RUNNING = "Running"
    PAUSED = "Paused"
    CANCELLED = "Cancelled"
    COMPLETED = "Completed"
    STOPPED = "Stopped"  # by the kill switch, a halt or cancel-all on one of its accounts


FINISHED = frozenset({ParentStatus.CANCELLED, ParentStatus.COMPLETED, ParentStatus.STOPPED})


class ChildStyle(models.TextChoices):
    PASSIVE = "PASSIVE", "Rests at the near touch (best bid for a buy)"
    TOUCH = "TOUCH", "Immediate-or-cancel at the far touch"
    IOC = "IOC", "Immediate-or-cancel at the far touch plus the slippage cap"


class EndPolicy(models.TextChoices):
    LEAVE = "LEAVE", "Leave the remainder unfilled"
    CROSS = "CROSS", "Cross the remainder within the limit price"


class ParentOrder(models.Model):
    """One algorithm order: what to trade, how, on which accounts, and where its schedule is.

    `next_slice` and `next_due_at` are the schedule's cursor: the step that moves them (a guarded
    update on `version`) is the only one that may place that slice's child.
    """

    algorithm = models.CharField(max_length=8, choices=Algorithm.choices)
    status = models.CharField(max_length=10, choices=ParentStatus.choices, db_index=True)
    status_info = models.TextField(blank=True)
    side = models.CharField(max_length=4)
    symbol = models.CharField(max_length=100)
    base = models.CharField(max_length=32)
    quote = models.CharField(max_length=32)
    amount = models.DecimalField(**MONEY)
    accounts = models.ManyToManyField("accounts.ExchangeAccount", related_name="parent_orders")

    start_at = models.DateTimeField()
    end_at = models.DateTimeField()
    interval_seconds = models.PositiveIntegerField()
    limit_price = models.DecimalField(**MONEY, null=True, blank=True)
    slippage = models.DecimalField(max_digits=10, decimal_places=6, default=0)
    jitter = models.DecimalField(max_digits=10, decimal_places=6, default=0)
    child_style = models.CharField(max_length=8, choices=ChildStyle.choices)
    end_policy = models.CharField(max_length=8, choices=EndPolicy.choices)
    display_amount = models.DecimalField(**MONEY, null=True, blank=True)
    participation = models.DecimalField(max_digits=10, decimal_places=6, null=True, blank=True)
    # VWAP: the weight of each minute of the hour, from the venue's recent candles (fixed at
    # creation, so that a replayed schedule is the same schedule).
    profile = models.JSONField(default=list, blank=True)

    next_slice = models.PositiveIntegerField(default=0)
    next_due_at = models.DateTimeField(db_index=True)
    # Where the plan restarts from after a change (resume, new end time): the slice number and
    # the amount done then; the rest is spread over the slices left.
    plan_slice = models.PositiveIntegerField(default=0)
    plan_done = models.DecimalField(**MONEY, default=0)
    # The desk's stop number when the parent started (risk.stops): a halt, kill switch or
    # cancel-all numbered after it on the desk or one of its accounts stops the parent.
    stop_mark = models.BigIntegerField(default=0)
    paused_at = models.DateTimeField(null=True, blank=True)
    fill_mark = models.BigIntegerField(default=0)  # the last child fill told on the stream
    version = models.PositiveIntegerField(default=0)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_with_key = models.ForeignKey(
        "accounts.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="parent_amount_positive"),
            models.CheckConstraint(condition=Q(interval_seconds__gt=0), name="parent_interval"),
        ]

    def __str__(self) -> str:
        return f"{self.algorithm} {self.side} {self.amount} {self.symbol} #{self.pk}"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED

    @property
    def slice_count(self) -> int:
        """Slices from start to end (at least one)."""
        seconds = (self.end_at - self.start_at).total_seconds()
        return max(1, int(-(-seconds // self.interval_seconds)))


def child_client_order_id(parent_id: int, number: int) -> str:
    return f"{CHILD_PREFIX}{parent_id}-{number}"


class SliceState(models.TextChoices):
    SENT = "SENT", "Child placed"
    MISSED = "MISSED", "Not sent on time: its amount moved to the next slice"
    MERGED = "MERGED", "Below the venue's minimum: merged into the next slice"
    REFUSED = "REFUSED", "Refused by the risk limits or the ticket checks: the parent paused"
    UNFILLED = "UNFILLED", "Final remainder below the venue's minimum: left unfilled"
    NOTHING = "NOTHING", "Nothing was due: the plan was met already"
    REJECTED = "REJECTED", "The child was rejected: the parent paused"


class ParentSlice(models.Model):
    """One numbered slot of a parent's schedule and what became of it. One row per number: the
    numbers of a parent run 0, 1, 2... with no gap, so nothing is skipped silently."""

    parent = models.ForeignKey(ParentOrder, on_delete=models.CASCADE, related_name="slices")
    number = models.PositiveIntegerField()
    state = models.CharField(max_length=8, choices=SliceState.choices)
    scheduled_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    target = models.DecimalField(**MONEY, default=0)  # what the schedule wanted done by now
    amount = models.DecimalField(**MONEY, default=0)  # what this slice asked for
    price = models.DecimalField(**MONEY, null=True, blank=True)
    account = models.ForeignKey(
        "accounts.ExchangeAccount",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    order = models.OneToOneField(
        "orders.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="algo_slice"
    )
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["parent", "number"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "number"], name="slice_unique_number"),
        ]

    def __str__(self) -> str:
        return f"{self.parent_id}/{self.number} {self.state}"


class EventKind(models.TextChoices):
    STATUS = "STATUS"
    PARAMS = "PARAMS"


class ParentEvent(models.Model):
    """A status the parent entered, or a change of its parameters. Append-only."""

    parent = models.ForeignKey(ParentOrder, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=8, choices=EventKind.choices)
    status = models.CharField(max_length=10, choices=ParentStatus.choices, blank=True)
    params = models.JSONField(default=dict, blank=True)
    note = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.parent_id} {self.kind} {self.status}"
