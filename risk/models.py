"""Desk risk controls: limits per scope (the desk, one account, one trader), the trading state of
the desk and of each account, and what each scope submitted per UTC day.

A scope is named by a key that the rules cache and the usage rows share: "desk",
"account:<id>", "trader:<user id>".
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from orders.models import Instrument

MONEY = {"max_digits": 38, "decimal_places": 18}
DESK = "desk"


def account_scope(account_id: int) -> str:
    return f"account:{account_id}"


def trader_scope(user_id: int) -> str:
    return f"trader:{user_id}"


def instrument_names(text: str) -> list[str]:
    """An instrument list as typed (one per line, or separated by commas), upper-cased."""
    return [name.upper() for name in text.replace(",", " ").split()]


def _scope(row: models.Model) -> str:
    if row.account_id is not None:
        return account_scope(row.account_id)
    if getattr(row, "user_id", None) is not None:
        return trader_scope(row.user_id)
    return DESK


def _scope_label(row: models.Model) -> str:
    if row.account_id is not None:
        return f"account {row.account}"
    if getattr(row, "user_id", None) is not None:
        return f"trader {row.user}"
    return "the desk"


class TradingState(models.TextChoices):
    ACTIVE = "ACTIVE", "Active"
    # Only orders that reduce exposure: on spot, SELL orders; on derivatives, reduce-only ones.
    REDUCING = "REDUCING", "Reducing only"
    HALTED = "HALTED", "Halted"


class RiskLimits(models.Model):
    """The limits of one scope: the desk (neither account nor trader), one account, or one
    trader. A limit left empty is no limit. An order meets the limits of every scope it is in:
    the desk's, its account's and its trader's."""

    account = models.OneToOneField(
        "accounts.ExchangeAccount",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="risk_limits",
        help_text="Leave account and trader empty for the desk-wide limits.",
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="risk_limits",
        verbose_name="trader",
    )
    max_order_notional_usd = models.DecimalField(
        **MONEY, null=True, blank=True, validators=[MinValueValidator(0)],
        verbose_name="max notional of one order (USD)",
    )  # fmt: skip
    max_working_orders = models.PositiveIntegerField(null=True, blank=True)
    max_orders_per_second = models.PositiveIntegerField(null=True, blank=True)
    max_orders_per_minute = models.PositiveIntegerField(null=True, blank=True)
    max_daily_notional_usd = models.DecimalField(
        **MONEY, null=True, blank=True, validators=[MinValueValidator(0)],
        verbose_name="max notional submitted per UTC day (USD)",
    )  # fmt: skip
    price_band_percent = models.DecimalField(
        max_digits=9, decimal_places=4, null=True, blank=True, validators=[MinValueValidator(0)],
        verbose_name="price band (%)",
        help_text="A limit price further than this from the reference price (mid, else last) "
        "is refused.",
    )  # fmt: skip
    reference_max_age_seconds = models.PositiveIntegerField(
        default=30,
        verbose_name="reference price max age (s)",
        help_text="With a price band set, an order is refused when no reference price is this "
        "fresh.",
    )
    allowed_instruments = models.TextField(
        blank=True,
        help_text="Only these (PAPER_SPOT_BTC_USD on one venue, BTC/USD on every venue), one "
        "per line or separated by commas. Empty: every instrument.",
    )
    denied_instruments = models.TextField(blank=True, help_text="Never these; same form.")
    max_position_usd = models.DecimalField(
        **MONEY, null=True, blank=True, validators=[MinValueValidator(0)],
        verbose_name="max position per instrument (USD)",
        help_text="On a derivative, the position an account may reach on one instrument, "
        "counting its working orders of the same side. Reduce-only orders always pass.",
    )  # fmt: skip
    liquidation_alert_percent = models.DecimalField(
        max_digits=9, decimal_places=4, null=True, blank=True, validators=[MinValueValidator(0)],
        verbose_name="liquidation alert (%)",
        help_text="The overview and the trading screen flag a position whose mark is this close "
        "to its liquidation price (the desk's row sets it for all; 10 when empty).",
    )  # fmt: skip
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    class Meta:
        verbose_name = "risk limits"
        verbose_name_plural = "risk limits"
        constraints = [
            models.CheckConstraint(
                condition=Q(account__isnull=True) | Q(user__isnull=True),
                name="risklimits_one_scope",
                violation_error_message="Limits are for an account or a trader, not both.",
            ),
            # One row per scope; the desk's is the one with neither (NULLs never collide).
            models.UniqueConstraint(
                Coalesce("account", Value(0)),
                Coalesce("user", Value(0)),
                name="risklimits_one_per_scope",
                violation_error_message="This scope has its limits already: edit those.",
            ),
        ]

    def __str__(self) -> str:
        return f"Limits of {self.scope_label}"

    def clean(self) -> None:
        # A misspelt name would deny nothing, or allow nothing: each must name an instrument.
        known = set()
        for coinapi, base, quote in Instrument.objects.values_list(
            "symbol_id_coinapi", "base", "quote"
        ):
            known |= {coinapi.upper(), f"{base}/{quote}".upper()}
        errors = {}
        for name in ("allowed_instruments", "denied_instruments"):
            unknown = [item for item in instrument_names(getattr(self, name)) if item not in known]
            if unknown:
                errors[name] = (
                    f"No instrument {', '.join(unknown)}: name each as PAPER_SPOT_BTC_USD or "
                    "BTC/USD."
                )
        if errors:
            raise ValidationError(errors)

    scope = property(_scope)
    scope_label = property(_scope_label)


class ScopeState(models.Model):
    """The trading state of the desk (no account) or of one account. No row: ACTIVE."""

    account = models.OneToOneField(
        "accounts.ExchangeAccount",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="trading_state",
        help_text="Empty: the whole desk.",
    )
    state = models.CharField(
        max_length=8, choices=TradingState.choices, default=TradingState.ACTIVE
    )
    reason = models.CharField(max_length=255, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    changed_at = models.DateTimeField(default=timezone.now, editable=False)
    # The last stop on the scope (a halt, the kill switch, cancel-all: risk.stops), numbered from
    # one desk-wide sequence, so that what started before it (an algorithm's parent) stops.
    stop_number = models.BigIntegerField(default=0, editable=False)
    stop_reason = models.CharField(max_length=255, blank=True, editable=False)
    stopped_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "trading state"
        constraints = [
            models.UniqueConstraint(
                Coalesce("account", Value(0)),
                name="scopestate_one_per_scope",
                violation_error_message="This scope has its state already: change that one.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scope_label}: {self.get_state_display()}"

    scope = property(_scope)
    scope_label = property(_scope_label)


class RiskUsage(models.Model):
    """What one scope submitted on one UTC day, counted as each order was accepted. A submit
    that a scope's limits count locks its row first: submits of one scope count and write one
    at a time, so concurrent ones cannot together pass a limit."""

    scope = models.CharField(max_length=40)
    day = models.DateField()
    orders = models.PositiveIntegerField(default=0)
    notional_usd = models.DecimalField(**MONEY, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "day"], name="riskusage_one_per_scope_day"),
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.day}: {self.orders} orders, {self.notional_usd} USD"
