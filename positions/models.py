"""Derivative positions as each account's venue last reported them, one row per instrument.

Rows are replaced from the venue on each sync (positions.services.positions_record), as balances
are; a flat row stays, so that the stream can say a position closed. `size` is signed: long above
zero, short below; `side` is the side of the last position held (BUY long, SELL short).
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from venues.base import OrdSide

MONEY = {"max_digits": 38, "decimal_places": 18}


class Position(models.Model):
    account = models.ForeignKey(
        "accounts.ExchangeAccount", on_delete=models.CASCADE, related_name="positions"
    )
    symbol_id_exchange = models.CharField(max_length=64)
    symbol_id_coinapi = models.CharField(max_length=100, blank=True)
    side = models.CharField(max_length=4, choices=OrdSide.choices, default=OrdSide.BUY)
    size = models.DecimalField(**MONEY, default=0)
    entry_price = models.DecimalField(**MONEY, default=0)
    mark_price = models.DecimalField(**MONEY, default=0)
    unrealized_pnl = models.DecimalField(**MONEY, default=0)
    realized_pnl = models.DecimalField(**MONEY, default=0)
    margin = models.DecimalField(**MONEY, default=0)
    maintenance_margin = models.DecimalField(**MONEY, default=0)
    leverage = models.DecimalField(max_digits=10, decimal_places=2, default=1)
    cross = models.BooleanField(default=False)
    liquidation_price = models.DecimalField(**MONEY, null=True, blank=True)
    settlement_asset = models.CharField(max_length=32, blank=True)
    fees = models.DecimalField(**MONEY, default=0)
    funding = models.DecimalField(**MONEY, default=0)
    liquidated_at = models.DateTimeField(null=True, blank=True)
    # The venue's size less the net of the desk's fills, as last agreed (positions.reconcile),
    # and a different one read once, awaiting a second read.
    fills_gap = models.DecimalField(**MONEY, null=True, blank=True)
    fills_gap_pending = models.DecimalField(**MONEY, null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["account", "symbol_id_exchange"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "symbol_id_exchange"], name="position_unique_symbol"
            ),
            models.CheckConstraint(condition=Q(leverage__gte=1), name="position_leverage"),
        ]
        indexes = [models.Index(fields=["account", "size"], name="position_account_size")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.symbol_id_exchange} {self.size}"

    @property
    def quantity(self):
        return abs(self.size)
