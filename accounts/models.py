from django.conf import settings
from django.db import models
from django.db.models import Q

MONEY = {"max_digits": 38, "decimal_places": 18}


class LastUpdatedBy(models.TextChoices):
    """Who last wrote a balance row: the contract's `last_updated_by` (EMS-API.md §5.6)."""

    INITIALIZATION = "INITIALIZATION"
    BALANCE_MANAGER = "BALANCE_MANAGER"
    EXCHANGE = "EXCHANGE"


class AlertKind(models.TextChoices):
    AUTH = "AUTH", "Key refused"
    NONCE = "NONCE", "Nonce refused"
    POSITION = "POSITION", "Position differs from the desk's fills"
    LIQUIDATION = "LIQUIDATION", "Position liquidated"


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
    # The last sync failed because the venue could not be reached (venues.errors.Unreachable:
    # nothing was sent), rather than for an answer it gave: the trading screen says which.
    last_sync_unreachable = models.BooleanField(default=False, editable=False)
    balances_synced_at = models.DateTimeField(null=True, blank=True, editable=False)
    fills_cursor = models.CharField(max_length=200, blank=True, editable=False)

    # The last test of the key (a worker's balance read after linking): whether it worked and,
    # where the venue tells, what the key may do. None: not known.
    key_checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    key_check_error = models.TextField(blank=True, editable=False)
    key_check_note = models.TextField(blank=True, editable=False)
    key_can_trade = models.BooleanField(null=True, blank=True, editable=False)
    key_can_withdraw = models.BooleanField(null=True, blank=True, editable=False)

    # What needs a person: a venue refusal (the key refused, a nonce refused) from any call, or
    # a position the venue liquidated; shown on the overview until a successful key check
    # (admin: Test connection) clears it.
    alert_kind = models.CharField(
        max_length=16, choices=AlertKind.choices, blank=True, editable=False
    )
    alert = models.TextField(blank=True, editable=False)
    alert_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["exchange_id"]

    def __str__(self) -> str:
        return self.exchange_id

    @property
    def trading_refusal(self) -> str:
        """Why new orders on this account are refused, or "" when they are not."""
        if self.key_can_withdraw:
            return (
                f"Trading is off on {self.exchange_id}: its key can withdraw funds. "
                "Link a trade-only key (withdrawals disabled) to trade again."
            )
        if not self.enabled:
            return f"The account {self.exchange_id} is disabled."
        return ""


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


FIX_TARGET_COMP_ID = "EMSWEB"


class ApiKey(models.Model):
    """A user's key for the REST API and the FIX gateway. Only the SHA-256 of the key is stored.

    Its FIX session's CompIDs, as the client sends them: SenderCompID defaults to the prefix
    and TargetCompID to EMSWEB when left empty (a desk moving from the hosted EMS sets them to
    OMS.FIX.CLIENT and CoinAPI.OEML.FIX)."""

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
    fix_sender_comp_id = models.CharField(
        "FIX SenderCompID", max_length=64, blank=True, help_text="Empty: the key's prefix."
    )
    fix_target_comp_id = models.CharField(
        "FIX TargetCompID", max_length=64, blank=True, help_text=f"Empty: {FIX_TARGET_COMP_ID}."
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=~Q(key_hash=""), name="apikey_hash_not_empty"),
            # Two live keys with the same CompIDs would be one FIX session.
            models.UniqueConstraint(
                fields=["fix_sender_comp_id", "fix_target_comp_id"],
                condition=~Q(fix_sender_comp_id="") & Q(revoked_at__isnull=True),
                name="apikey_fix_comp_ids_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def fix_sender(self) -> str:
        return self.fix_sender_comp_id or self.prefix

    @property
    def fix_target(self) -> str:
        return self.fix_target_comp_id or FIX_TARGET_COMP_ID


class DeskRole(models.TextChoices):
    ADMIN = "ADMIN", "Desk admin"
    TRADER = "TRADER", "Trader"
    VIEWER = "VIEWER", "Viewer"


class DeskMember(models.Model):
    """A user's role on the desk. A user without one is a viewer; a superuser is an admin."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="desk_member"
    )
    role = models.CharField(max_length=8, choices=DeskRole.choices, default=DeskRole.VIEWER)

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"


class TradingGrant(models.Model):
    """A trader may trade this account."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trading_grants"
    )
    account = models.ForeignKey(ExchangeAccount, on_delete=models.CASCADE, related_name="grants")
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "account"], name="grant_unique_user_account")
        ]

    def __str__(self) -> str:
        return f"{self.user} may trade {self.account}"


class AuditAction(models.TextChoices):
    SIGN_IN = "SIGN_IN", "Signed in"
    SIGN_IN_FAILED = "SIGN_IN_FAILED", "Sign-in failed"
    SIGN_OUT = "SIGN_OUT", "Signed out"
    TWO_FACTOR = "TWO_FACTOR", "Two-factor change"
    ORDER_PLACED = "ORDER_PLACED", "Order placed"
    ORDER_CANCEL = "ORDER_CANCEL", "Cancel requested"
    CANCEL_ALL = "CANCEL_ALL", "Cancel all"
    KILL_SWITCH = "KILL_SWITCH", "Kill switch"
    ACCOUNT_KEYS = "ACCOUNT_KEYS", "Account keys changed"
    ACCOUNT_STATE = "ACCOUNT_STATE", "Account enabled or disabled"
    ROLE = "ROLE", "Role or grant changed"
    API_KEY = "API_KEY", "API key created or revoked"
    REFUSED = "REFUSED", "Change refused"
    RISK_REFUSED = "RISK_REFUSED", "Order refused by a risk limit"
    TRADING_STATE = "TRADING_STATE", "Trading state changed"
    RISK_LIMITS = "RISK_LIMITS", "Risk limits changed"
    FLATTEN = "FLATTEN", "Flatten positions"
    LEVERAGE = "LEVERAGE", "Leverage or margin mode set"
    ALGO_START = "ALGO_START", "Algorithm started"
    ALGO_CHANGE = "ALGO_CHANGE", "Algorithm parameters changed"
    ALGO_PAUSE = "ALGO_PAUSE", "Algorithm paused"
    ALGO_RESUME = "ALGO_RESUME", "Algorithm resumed"
    ALGO_CANCEL = "ALGO_CANCEL", "Algorithm canceled"


DETAIL_READING_ORDER = ("account", "side", "amount", "price")


class AuditEvent(models.Model):
    """Who did what, when, from where. Append-only: rows are never updated or deleted."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=16, choices=AuditAction.choices, db_index=True)
    target = models.CharField(max_length=255, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action} {self.target}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Audit events are append-only.")
        super().save(*args, **kwargs)

    @property
    def detail_items(self) -> list[tuple[str, object]]:
        """The details in the order a person reads an order (account, side, amount, price),
        then the rest by name: PostgreSQL's jsonb keeps no order of its own."""
        rank = {name: place for place, name in enumerate(DETAIL_READING_ORDER)}
        return sorted(self.detail.items(), key=lambda item: (rank.get(item[0], len(rank)), item[0]))


class PortfolioSnapshot(models.Model):
    """The desk's total value in USD at one moment, for the overview's chart."""

    at = models.DateTimeField(db_index=True)
    total_usd = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.total_usd} USD"
