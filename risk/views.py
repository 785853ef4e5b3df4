"""The risk page: every scope's usage against its limits and its trading state, pushed by the
stream (polled while it is down); a desk admin halts and resumes from it. Thin: risk.pages
reads, risk.services writes (and audits)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.access import desk_view, step_up
from accounts.audit import client_ip
from accounts.models import ExchangeAccount
from accounts.selectors import accounts_visible, may_manage_risk

from .pages import risk_context
from .services import trading_halt, trading_resume

REASON = "Risk page"


@desk_view
def risk_page(request):
    """Every desk member reads it. A poll (htmx) that finds nothing changed since the `seen`
    digest it carries is answered 204, so that its buttons are not swapped under the pointer."""
    context = risk_context(user=request.user)
    if request.htmx and request.GET.get("seen") == context["seen"]:
        return HttpResponse(status=204)
    template = "risk/risk.html#scopes" if request.htmx else "risk/risk.html"
    return render(request, template, context)


@desk_view
@require_POST
def risk_halt(request, account_pk: int | None = None):
    """No new orders on the account, or on the whole desk; working orders stay."""
    account = _scope_for(request, account_pk)
    trading_halt(
        accounts=None if account is None else [account],
        user=request.user,
        ip=client_ip(request),
        reason=REASON,
    )
    messages.warning(
        request,
        f"Trading halted on {_label(account)}. Working orders stay: cancel them from the "
        "blotter (its kill switch halts and cancels).",
    )
    return redirect("risk")


@desk_view
@step_up
def risk_resume(request, account_pk: int | None = None):
    """ACTIVE again. Where the desk asks for codes, a fresh one first (as in the admin site),
    after which the code page sends the browser here by GET: back to the page, nothing done."""
    if request.method != "POST":
        return redirect("risk")
    account = _scope_for(request, account_pk)
    trading_resume(user=request.user, account=account, ip=client_ip(request), reason=REASON)
    messages.success(request, f"Trading resumed on {_label(account)}.")
    return redirect("risk")


def _scope_for(request, account_pk: int | None) -> ExchangeAccount | None:
    """The account acted on (None: the desk), once the user is known to be a desk admin."""
    if not may_manage_risk(user=request.user):
        raise PermissionDenied("Only a desk admin halts or resumes trading here.")
    if account_pk is None:
        return None
    return get_object_or_404(accounts_visible(user=request.user), pk=account_pk)


def _label(account: ExchangeAccount | None) -> str:
    return "the desk" if account is None else f"account {account.exchange_id}"
