"""/v1/sor: the SOR API (contract §6.4). Parents in, their reports out; every request goes
through algos.requests, as the /v1/ws messages do."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from accounts.audit import client_ip
from accounts.reports import balance_snapshot
from accounts.selectors import accounts_visible
from emsweb.api import wire
from emsweb.api.schemas import ErrorBody, MessageRejectBody, ValidationErrorBody
from orders.reports import execution_report, report_data
from orders.requests import READ_ONLY, RequestInvalid, RequestReadOnly
from orders.selectors import orders_visible
from orders.statuses import WORKING_STATUSES

from .reports import parent_report
from .requests import (
    ParentUnknown,
    SorAddRequest,
    SorUpdateRequest,
    sor_add_request,
    sor_control_request,
    sor_update_request,
)
from .selectors import parents_visible

router = Router(tags=["SOR"])
ERRORS = {400: ValidationErrorBody, 401: ErrorBody, 403: ErrorBody, 404: MessageRejectBody}


def _answer(call):
    try:
        return call()
    except RequestReadOnly:
        return wire.json_response({"error": READ_ONLY}, 403)
    except RequestInvalid as invalid:
        return wire.validation_error(invalid.errors)
    except ParentUnknown as unknown:
        return wire.message_reject(404, "ORDER_ID_NOT_FOUND", str(unknown))


@router.get("/sor/requests", response={200: list[dict[str, Any]]} | ERRORS)
def sor_requests(request: HttpRequest):
    """Every parent on accounts the key may see, newest first."""
    parents = parents_visible(user=request.auth.user).order_by("-created_at", "-pk")
    return wire.json_response([parent_report(parent) for parent in parents])


@router.get("/sor/requests/{parent_id}", response={200: dict[str, Any]} | ERRORS)
def sor_request(request: HttpRequest, parent_id: str):
    """One parent (emsweb's own: the contract lists them all only)."""
    return _answer(lambda: wire.json_response(parent_report(_visible(request, parent_id))))


def _visible(request: HttpRequest, parent_id: str):
    pk = int(parent_id) if parent_id.isdigit() else 0
    found = parents_visible(user=request.auth.user).filter(pk=pk).first()
    if found is None:
        raise ParentUnknown(parent_id)
    return found


@router.post("/sor/add", response={200: dict[str, Any]} | ERRORS)
def sor_add(request: HttpRequest, payload: SorAddRequest):
    """Start a parent: {"id": ..., "status": "Running"}."""

    def add():
        parent = sor_add_request(api_key=request.auth, data=payload, ip=client_ip(request))
        return wire.json_response({"id": str(parent.pk), "status": parent.status})

    return _answer(add)


@router.put("/sor/update", response={200: dict[str, Any]} | ERRORS)
def sor_update(request: HttpRequest, payload: SorUpdateRequest):
    """Change amount, end_time, limit_price, participation or display_amount, from the next
    slice: the parent as it is then."""

    def update():
        parent = sor_update_request(api_key=request.auth, data=payload, ip=client_ip(request))
        return wire.json_response(parent_report(parent))

    return _answer(update)


def _control(action: str):
    def view(request: HttpRequest, parent_id: str):
        def run():
            parent = sor_control_request(
                api_key=request.auth, parent_id=parent_id, action=action, ip=client_ip(request)
            )
            return wire.json_response(parent_report(parent))

        return _answer(run)

    view.__name__ = f"sor_{action}"
    view.__doc__ = f"{action.capitalize()} the parent: the parent as it is then."
    return view


router.post("/sor/cancel/{parent_id}", response={200: dict[str, Any]} | ERRORS)(_control("cancel"))
router.post("/sor/pause/{parent_id}", response={200: dict[str, Any]} | ERRORS)(_control("pause"))
router.post("/sor/resume/{parent_id}", response={200: dict[str, Any]} | ERRORS)(_control("resume"))


@router.get("/sor/balances", response={200: dict[str, Any]} | ERRORS)
def sor_balances(request: HttpRequest):
    """Balances keyed by exchange, each the items of its BALANCE_SNAPSHOT."""
    accounts = accounts_visible(user=request.auth.user).filter(enabled=True)
    return wire.json_response(
        {
            account.exchange_id: balance_snapshot(account)["data"]
            for account in accounts.prefetch_related("balances")
        }
    )


@router.get("/sor/orders", response={200: dict[str, Any]} | ERRORS)
def sor_orders(request: HttpRequest):
    """Open orders keyed by exchange, each an execution report."""
    keyed: dict[str, list] = {}
    orders = orders_visible(user=request.auth.user).filter(status__in=WORKING_STATUSES)
    for row in report_data(orders.order_by("created_at", "id")):
        keyed.setdefault(row["exchange_id"], []).append(execution_report(row))
    return wire.json_response(keyed)


@router.get("/sor/positions", response={200: dict[str, Any]} | ERRORS)
def sor_positions(request: HttpRequest):
    """Spot venues hold no positions: an empty list per exchange."""
    accounts = accounts_visible(user=request.auth.user).filter(enabled=True)
    return wire.json_response({account.exchange_id: [] for account in accounts})
