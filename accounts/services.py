"""Writes for linked exchange accounts, their keys and their balances."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Mapping
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from emsweb.metrics import count_venue_alert, count_venue_error
from emsweb.redis import redis_client, signal_send, signal_wait
from orders.statuses import TERMINAL_STATUSES
from orders.tasks import sync_account
from positions.selectors import unrealized_usd
from stream.messages import (
    account_removed_message,
    account_server_info,
    balance_removed_message,
)
from stream.models import EventKind
from stream.outbox import event_record, events_record
from venues.base import KeyCheck, Venue, VenueBalance, key_check
from venues.errors import VenueError
from venues.registry import UnknownVenue, adapter_class, split_exchange_id, venue_info

from . import credentials
from .models import (
    AlertKind,
    ApiKey,
    Balance,
    ExchangeAccount,
    LastUpdatedBy,
    PortfolioSnapshot,
)
from .tasks import check_account_key

logger = logging.getLogger(__name__)
API_KEY_PREFIX = "ems_"
CENT = Decimal("0.01")
# A wait longer than this would tie up a web thread for too long (as orders.notify's).
LONGEST_LINK_WAIT = 60.0


class AccountInvalid(Exception):
    """Field name -> messages, for the API's 400 and the forms' errors."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


def account_link(
    *,
    exchange_id: str,
    parameters: Mapping[str, str],
    user: AbstractBaseUser | None = None,
    sandbox: bool = False,
) -> tuple[ExchangeAccount, bool]:
    """Add an account, or update its keys. Returns the account and whether it is new."""
    exchange_id = (exchange_id or "").strip()
    max_length = ExchangeAccount._meta.get_field("exchange_id").max_length
    if len(exchange_id) > max_length:
        raise AccountInvalid({"exchange_id": [f"At most {max_length} characters."]})
    code, tag = split_exchange_id(exchange_id)
    try:
        info = venue_info(code)
    except LookupError as error:
        raise AccountInvalid({"exchange_id": [str(error)]}) from None
    if info.closed:
        raise AccountInvalid({"exchange_id": [info.closed]})
    if exchange_id != code and not tag:
        raise AccountInvalid({"exchange_id": ["The account tag after the separator is empty."]})
    missing = [name for name in info.required_parameters if not parameters.get(name)]
    if missing:
        raise AccountInvalid({name: [f"{name} is required for {code}."] for name in missing})
    values = {name: parameters[name] for name in info.required_parameters}

    with transaction.atomic():
        account, created = ExchangeAccount.objects.update_or_create(
            exchange_id=exchange_id,
            defaults={
                "venue": code,
                "tag": tag,
                "enabled": True,
                "sandbox": sandbox,
                "credentials": credentials.encrypt(values),
                "credentials_hint": credentials.hint(values),
            },
            create_defaults={
                "venue": code,
                "tag": tag,
                "sandbox": sandbox,
                "credentials": credentials.encrypt(values),
                "credentials_hint": credentials.hint(values),
                "created_by": user,
            },
        )
        account_streamed(account_id=account.pk)  # enabled again, or new
        transaction.on_commit(lambda: _queue_first_sync(account))
    return account, created


def _queue_first_sync(account: ExchangeAccount) -> None:
    # A signal left by an earlier attempt (a first sync that failed) must not answer this one.
    redis_client().delete(_first_read_key(account))
    sync_account.delay(account.pk)
    check_account_key.delay(account.pk)


def account_balances_wait(*, account: ExchangeAccount, timeout: float | None = None) -> bool:
    """Wait for a worker's first read of a just linked account's balances, at most `timeout`
    (EMSWEB_LINK_BALANCES_WAIT) seconds. True once they are known; False if they are not, and
    orders on the account are refused as "not known yet" until a sync reads them.

    Call it once account_link's transaction has committed: the read is queued only then.
    """
    if _balances_known(account.pk):
        return True
    if transaction.get_connection().in_atomic_block:
        return False  # the sync is queued at commit, after this: nothing to wait for yet
    timeout = settings.EMSWEB_LINK_BALANCES_WAIT if timeout is None else timeout
    signal_wait(_first_read_key(account), timeout=min(timeout, LONGEST_LINK_WAIT))
    return _balances_known(account.pk)


def balances_first_read_settled(*, account: ExchangeAccount) -> None:
    """The first sync of an account whose balances were never read has ended, read or failed:
    wake a linking that waits for it (account_balances_wait)."""
    signal_send(_first_read_key(account), keep_seconds=int(LONGEST_LINK_WAIT))


def _first_read_key(account: ExchangeAccount) -> str:
    # Named by creation time too: SQLite reuses the id of an account deleted meanwhile.
    return f"emsweb:balances-read:{account.pk}:{account.created_at.timestamp():.6f}"


def _balances_known(account_id: int) -> bool:
    return ExchangeAccount.objects.filter(pk=account_id, balances_synced_at__isnull=False).exists()


def account_venue(*, account: ExchangeAccount) -> Venue:
    """The venue adapter for an account, holding its decrypted keys. Workers only."""
    return adapter_class(account.venue)(
        account_key=account.exchange_id,
        credentials=credentials.decrypt(account.credentials),
        sandbox=account.sandbox,
    )


def credentials_rotate() -> int:
    """Re-encrypt every account's keys under the newest field key. Returns how many."""
    count = 0
    for account in ExchangeAccount.objects.exclude(credentials="").only("pk", "credentials"):
        with transaction.atomic():
            account = ExchangeAccount.objects.select_for_update().get(pk=account.pk)
            account.credentials = credentials.rotate_token(account.credentials)
            account.save(update_fields=["credentials"])
        count += 1
    return count


BALANCE_FIELDS = (
    "asset_id_coinapi",
    "balance",
    "available",
    "locked",
    "rate_usd",
    "last_updated_by",
)


def balances_record(*, account: ExchangeAccount, balances: list[VenueBalance]) -> None:
    """Replace an account's balance rows with the venue's snapshot. Only the rows that change
    are written (added, updated or removed), and each of those adds one event to the stream."""
    now = timezone.now()
    snapshot = {item.asset: _balance_values(item) for item in balances}
    with transaction.atomic():
        rows = {
            row.asset_id_exchange: row
            for row in Balance.objects.select_for_update().filter(account=account)
        }
        added, changed = [], []
        for asset, values in snapshot.items():
            row = rows.pop(asset, None)
            if row is None:
                added.append(Balance(account=account, asset_id_exchange=asset, **values))
            elif any(getattr(row, name) != value for name, value in values.items()):
                for name, value in {**values, "updated_at": now}.items():
                    setattr(row, name, value)
                changed.append(row)
        Balance.objects.bulk_create(added)
        Balance.objects.bulk_update(changed, [*BALANCE_FIELDS, "updated_at"])
        gone = list(rows.values())
        if gone:
            events_record(
                kind=EventKind.BALANCE,
                account_id=account.pk,
                ref_ids=[row.pk for row in gone],
                messages=[
                    balance_removed_message(balance=row, exchange_id=account.exchange_id)
                    for row in gone
                ],
            )
            Balance.objects.filter(pk__in=[row.pk for row in gone]).delete()
        events_record(
            kind=EventKind.BALANCE, account_id=account.pk, ref_ids=[r.pk for r in added + changed]
        )
        ExchangeAccount.objects.filter(pk=account.pk).update(balances_synced_at=now)


def _balance_values(item: VenueBalance) -> dict:
    return {
        "asset_id_coinapi": item.asset_common or item.asset,
        "balance": item.balance,
        "available": item.available,
        "locked": item.locked,
        "rate_usd": item.rate_usd,
        "last_updated_by": LastUpdatedBy.EXCHANGE,
    }


def account_sync_record(
    *, account: ExchangeAccount, error: str | None, unreachable: bool = False
) -> None:
    """Record how a sync of `account` (as read before it) ended: `error` None when it worked;
    `unreachable` when it failed because the venue could not be reached. A change of its
    connection state goes to the stream in the same transaction."""
    now = timezone.now()
    if error is None:
        values = {"last_sync_at": now, "last_sync_error": "", "last_sync_unreachable": False}
    else:
        values = {
            "last_sync_error": error,
            "last_sync_error_at": now,
            "last_sync_unreachable": unreachable,
        }
    # Streamed when what the stream shows of the account changes (its state, its error).
    before = account_server_info(vars(account))
    for name, value in values.items():
        setattr(account, name, value)
    _account_update(account.pk, values, streamed=account_server_info(vars(account)) != before)


def _account_update(account_id: int, values: dict, *, streamed: bool) -> None:
    """Set `values` on the account; `streamed`: with its event, in one transaction."""
    accounts = ExchangeAccount.objects.filter(pk=account_id)
    if not streamed:
        accounts.update(**values)
        return
    with transaction.atomic():
        accounts.update(**values)
        account_streamed(account_id=account_id)


def account_streamed(*, account_id: int) -> None:
    """The account's state as the stream shows it (enabled, connection, alert) changed: its
    event, in the caller's transaction."""
    event_record(kind=EventKind.ACCOUNT, account_id=account_id, ref_id=account_id)


def api_key_create(
    *,
    user: AbstractBaseUser,
    label: str = "",
    read_only: bool = False,
    fix_sender_comp_id: str = "",
    fix_target_comp_id: str = "",
) -> tuple[ApiKey, str]:
    """A new API key for `user`. The key itself is returned once and never stored. Its FIX
    CompIDs default (when empty) to its prefix and EMSWEB."""
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(
        user=user,
        label=label,
        read_only=read_only,
        prefix=key[:12],
        key_hash=api_key_hash(key),
        fix_sender_comp_id=fix_sender_comp_id,
        fix_target_comp_id=fix_target_comp_id,
    )
    return api_key, key


def api_key_hash(key: str) -> str:
    # The key carries 256 random bits, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(key.encode()).hexdigest()


class AccountBusy(AccountInvalid):
    pass


def account_remove(*, account: ExchangeAccount) -> None:
    """Unlink an account: its keys are erased. An account with history is kept, disabled, so
    its orders stay in the shared history; relinking the same exchange_id enables it again.
    An account with open orders is refused: they could no longer be canceled from here."""
    open_orders = account.orders.exclude(status__in=TERMINAL_STATUSES).count()
    if open_orders:
        raise AccountBusy(
            {
                "exchange_id": [
                    f"{account.exchange_id} has {open_orders} open order(s): cancel them first."
                ]
            }
        )
    if account.orders.exists():
        _account_update(
            account.pk, {"enabled": False, "credentials": "", "credentials_hint": {}}, streamed=True
        )
        return
    with transaction.atomic():
        event_record(
            kind=EventKind.ACCOUNT,
            account_id=account.pk,
            ref_id=account.pk,
            message=account_removed_message(account=account),
        )
        account.delete()


def portfolio_snapshot_record() -> PortfolioSnapshot:
    """The desk's total USD value now, from the last synced balances and the unrealized PnL of
    the open positions (as the overview's total)."""
    total = sum(
        (row.balance * row.rate_usd for row in Balance.objects.filter(rate_usd__isnull=False)),
        Decimal(0),
    )
    total += sum(unrealized_usd().values(), Decimal(0))
    return PortfolioSnapshot.objects.create(at=timezone.now(), total_usd=total.quantize(CENT))


def account_key_check(*, account_id: int) -> KeyCheck:
    """Test an account's key at its venue (a balance read; its permissions where the venue
    tells) and record what was found on the account. Workers only: it calls the venue."""
    account = ExchangeAccount.objects.get(pk=account_id)
    try:
        check = key_check(account_venue(account=account))
    except (VenueError, UnknownVenue, credentials.CredentialsUnreadable) as problem:
        check = KeyCheck(ok=False, message=getattr(problem, "message", None) or str(problem))
    with transaction.atomic():
        # A check that works clears the alert; the stream hears of it if there was one.
        if check.ok and _alert_clear(account_id):
            account_streamed(account_id=account_id)
        ExchangeAccount.objects.filter(pk=account_id).update(
            key_checked_at=timezone.now(),
            key_check_error="" if check.ok else check.message,
            key_check_note=check.message if check.ok else "",
            key_can_trade=check.can_trade,
            key_can_withdraw=check.can_withdraw,
        )
    if check.can_withdraw:
        logger.error(
            "account %s: its key can withdraw funds; trading is off until a trade-only key "
            "is linked",
            account.exchange_id,
        )
    return check


def _alert_clear(account_id: int) -> bool:
    raised = ExchangeAccount.objects.filter(pk=account_id).exclude(alert_kind="", alert="")
    return bool(raised.update(alert_kind="", alert="", alert_at=None))


ALERT_ADVICE = {
    AlertKind.AUTH: "Check the key at the exchange (revoked? permissions?), link it again if "
    "needed, then test the connection.",
    AlertKind.NONCE: "Another program may be signing with this key (give emsweb a key of its "
    "own), or this machine's clock is off; then test the connection.",
    AlertKind.POSITION: "A liquidation, a trade placed outside emsweb, or a fill missed: check "
    "the position at the exchange against the desk's fills, then test the connection.",
    AlertKind.LIQUIDATION: "Its orders there were canceled by the venue. Check the account's "
    "margin; a connection test clears this alert.",
}


def account_sync_queue(*, account: ExchangeAccount) -> None:
    """Ask a worker to sync the account now (balances, orders, fills)."""
    sync_account.delay(account.pk)


def account_connection_test(*, account: ExchangeAccount) -> None:
    """Ask a worker to test the account's key and sync it: the result shows on the account."""
    check_account_key.delay(account.pk)
    sync_account.delay(account.pk)


def venue_error_record(*, venue: str, operation: str, error: BaseException) -> None:
    """Count one failed venue call, and raise the account's alert when the error needs a
    person (a refused key or nonce: it names its `alert_kind` and `account_key`). Never
    raises: recording a failure must not stop an order."""
    count_venue_error(venue, operation, error)
    alert_kind = getattr(error, "alert_kind", "")
    if not (alert_kind and isinstance(error, VenueError)):
        return
    try:
        account_alert_raise(
            exchange_id=getattr(error, "account_key", ""),
            venue=venue,
            kind=alert_kind,
            message=error.message,
        )
    except Exception:  # noqa: BLE001
        logger.exception("could not record a %s alert for %s", alert_kind, venue)


def account_alert_raise(*, exchange_id: str, venue: str, kind: str, message: str) -> None:
    """A venue refused this account's key or nonce, or liquidated a position: record it on the
    account for a person (the overview shows it until a successful key check), log it at ERROR
    and count it. `message` is the adapter's, already scrubbed of credentials."""
    text = f"{AlertKind(kind).label}: {message} {ALERT_ADVICE[AlertKind(kind)]}"
    accounts = ExchangeAccount.objects.filter(exchange_id=exchange_id)
    with transaction.atomic():
        accounts.exclude(alert_kind=kind).update(alert_at=timezone.now())  # since the first one
        # The stream hears of an alert that is new or says something new, not of every repeat.
        for account_id in accounts.exclude(alert_kind=kind, alert=text).values_list(
            "pk", flat=True
        ):
            account_streamed(account_id=account_id)
        accounts.update(alert_kind=kind, alert=text)
    logger.error("account %s: alert %s: %s", exchange_id or venue, kind, message)
    count_venue_alert(venue, kind)
