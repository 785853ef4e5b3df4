from django.conf import settings
from django.db import models
from django.db.models import Q

from venues.base import LastUpdatedBy

MONEY = {"max_digits": 38, "decimal_places": 18}


class ExchangeAccount(models.Model):
    """One linked account at one venue, named by the contract's tagged id (`KRAKEN/JOHN`).

    The venue's parameters (keys) are one MultiFernet token in `credentials`; only workers
    decrypt it (accounts.credentials). `credentials_hint` holds the masked form for display.
    """

    exchange_id = models.CharField(max_length=100, unique=True)
    venue = models.CharField(max_length=32)
    tag = models.CharField(max_length=100, blank=True)
    enabled = models.BooleanField(default=True)
    sandbox = models.BooleanField(default=False)
    credentials = models.TextField(blank=True, editable=False)
    credentials_hint = models.JSONField(default=dict, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    last_sync_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_sync_error = models.TextField(blank=True, editable=False)
    last_sync_error_at = models.DateTimeField(null=True, blank=True, editable=False)
    balances_synced_at = models.DateTimeField(null=True, blank=True, editable=False)
    fills_cursor = models.CharField(max_length=200, blank=True, editable=False)

    class Meta:
        ordering = ["exchange_id"]

    def __str__(self) -> str:
        return self.exchange_id


class Balance(models.Model):
    """An account's holding of one asset, as last reported by its venue."""

    account = models.ForeignKey(ExchangeAccount, on_delete=models.CASCADE, related_name="balances")
    asset_id_exchange = models.CharField(max_length=32)
    asset_id_coinapi = models.CharField(max_length=32, blank=True)
    balance = models.DecimalField(**MONEY, default=0)
    available = models.DecimalField(**MONEY, default=0)
    locked = models.DecimalField(**MONEY, default=0)
    traded = models.DecimalField(**MONEY, default=0)
    last_updated_by = models.CharField(
        max_length=20, choices=LastUpdatedBy.choices, default=LastUpdatedBy.INITIALIZATION
    )
    rate_usd = models.DecimalField(**MONEY, null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["account", "asset_id_exchange"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "asset_id_exchange"], name="balance_unique_account_asset"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.asset_id_exchange} {self.balance}"


class ApiKey(models.Model):
    """A user's key for the REST API. Only the SHA-256 of the key is stored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys"
    )
    label = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=16, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    read_only = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=~Q(key_hash=""), name="apikey_hash_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
