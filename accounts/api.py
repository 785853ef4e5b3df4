"""/v1 exchanges, accounts, balances and positions (the hosted EMS's management API and the
account side of its trading API, served by the one server)."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest
from ninja import Query, Router, Schema

from emsweb.api import wire
from emsweb.api.schemas import (
    ErrorBody,
    LenientSchema,
    MessageRejectBody,
    StringOrAbsent,
    ValidationErrorBody,
    WireNumber,
)
from positions.reports import position_snapshot
from venues.registry import CATALOG

from .audit import audit_record
from .models import AuditAction, ExchangeAccount
from .reports import balance_snapshot
from .selectors import accounts_visible, may_manage_accounts
from .services import AccountInvalid, account_balances_wait, account_link, account_remove

router = Router(tags=["Accounts"])


class ExchangeLoginRequire(Schema):
    exchange_id: str
    location_id: str
    required_parameters: list[str]


class KeyValue(Schema):
    key: str
    value: str


class AccountData(LenientSchema):
    exchange_id: str
    parameters: list[KeyValue] = []


class GetAccount(Schema):
    exchange_id: str
    parameters: list[KeyValue]


class BalanceData(Schema):
    id: str
    asset_id_exchange: str
    asset_id_coinapi: StringOrAbsent = None
    balance: WireNumber
    available: WireNumber
    locked: WireNumber
    traded: WireNumber
    last_updated_by: str
    rate_usd: WireNumber | None


class Balance(Schema):
    type: str
    exchange_id: str
    data: list[BalanceData]
    last_sync: str | None
    error: str | None


class Position(Schema):
    type: str
    exchange_id: str
    data: list[dict]


class AccountFilter(Schema):
    filter_exchange_id: list[str] | None = None


class AccountDelete(Schema):
    exchange_id: list[str]


def manage_refusal():
    return wire.json_response(
        {"error": "This API key is read-only: it cannot change accounts."}, 403
    )


def account_listing(account: ExchangeAccount) -> dict:
    """Parameter keys with masked values: a secret is never echoed."""
    return {
        "exchange_id": account.exchange_id,
        "parameters": [
            {"key": key, "value": masked}
            for key, masked in sorted(account.credentials_hint.items())
        ],
    }


@router.get(
    "/exchanges",
    response={200: list[ExchangeLoginRequire], 400: ValidationErrorBody, 401: ErrorBody},
)
def exchanges(request: HttpRequest):
    """The venues emsweb can link, with the parameters each needs."""
    return wire.json_response(
        [
            {
                "exchange_id": info.code,
                "location_id": info.location_id,
                "required_parameters": sorted(info.required_parameters),
            }
            for info in CATALOG.values()
        ]
    )


@router.get("/accounts", response={200: list[GetAccount], 400: ValidationErrorBody, 401: ErrorBody})
def accounts_list(request: HttpRequest, filters: Query[AccountFilter]):
    accounts = accounts_visible(user=request.auth.user).filter(enabled=True)
    if filters.filter_exchange_id:
        accounts = accounts.filter(exchange_id__in=filters.filter_exchange_id)
    return wire.json_response([account_listing(account) for account in accounts])


@router.post(
    "/accounts",
    response={200: GetAccount, 400: ValidationErrorBody, 401: ErrorBody, 403: ErrorBody},
)
def accounts_add(request: HttpRequest, payload: AccountData):
    """Add an account, or replace its keys (keyed by exchange_id). Secrets are write-only.
    A new account's first balance read is waited for (EMSWEB_LINK_BALANCES_WAIT at most)."""
    api_key = request.auth
    if not may_manage_accounts(user=api_key.user, api_key=api_key):
        return manage_refusal()
    parameters = {item.key: item.value for item in payload.parameters}
    try:
        account, _ = account_link(
            exchange_id=payload.exchange_id, parameters=parameters, user=api_key.user
        )
    except AccountInvalid as invalid:
        return wire.validation_error(invalid.errors)
    audit_record(
        action=AuditAction.ACCOUNT_KEYS,
        actor=api_key.user,
        request=request,
        target=account.exchange_id,
        change="linked through the API",
    )
    # A script links and then trades: its first order is checked against balances read here.
    account_balances_wait(account=account)
    return wire.json_response(account_listing(account))


@router.delete(
    "/accounts",
    response={
        200: MessageRejectBody,
        400: ValidationErrorBody,
        404: MessageRejectBody,
        401: ErrorBody,
        403: ErrorBody,
    },
)
def accounts_delete(request: HttpRequest, filters: Query[AccountDelete]):
    api_key = request.auth
    if not may_manage_accounts(user=api_key.user, api_key=api_key):
        return manage_refusal()
    accounts = list(
        accounts_visible(user=api_key.user).filter(
            exchange_id__in=filters.exchange_id, enabled=True
        )
    )
    if not accounts:
        return wire.message_reject(404, "OTHER", "Exchange account not found")
    return _remove(accounts)


@router.delete(
    "/accounts/all",
    response={200: MessageRejectBody, 400: ValidationErrorBody, 401: ErrorBody, 403: ErrorBody},
)
def accounts_delete_all(request: HttpRequest):
    api_key = request.auth
    if not may_manage_accounts(user=api_key.user, api_key=api_key):
        return manage_refusal()
    return _remove(list(accounts_visible(user=api_key.user).filter(enabled=True)))


def _remove(accounts: list[ExchangeAccount]):
    try:
        with transaction.atomic():
            for account in accounts:
                account_remove(account=account)
    except AccountInvalid as busy:
        return wire.validation_error(busy.errors)
    names = ", ".join(account.exchange_id for account in accounts) or "none"
    return wire.message(f"Removed: {names}.")


@router.get("/balances", response={200: list[Balance], 400: ValidationErrorBody, 401: ErrorBody})
def balances(request: HttpRequest, exchange_id: str | None = None):
    """One BALANCE_SNAPSHOT per account, from the last sync: it never waits on a venue. An
    account whose venue could not be reached says so in `error`, with the age in `last_sync`."""
    accounts = accounts_visible(user=request.auth.user).filter(enabled=True)
    if exchange_id:
        accounts = accounts.filter(exchange_id=exchange_id)
    return wire.json_response(
        [balance_snapshot(account) for account in accounts.prefetch_related("balances")]
    )


@router.get("/positions", response={200: list[Position], 400: ValidationErrorBody, 401: ErrorBody})
def positions(request: HttpRequest, exchange_id: str | None = None):
    """One POSITION_SNAPSHOT per account, its open positions from the last sync (spot venues
    hold none: an empty `data`)."""
    accounts = accounts_visible(user=request.auth.user).filter(enabled=True)
    if exchange_id:
        accounts = accounts.filter(exchange_id=exchange_id)
    return wire.json_response(
        [position_snapshot(account) for account in accounts.prefetch_related("positions")]
    )
