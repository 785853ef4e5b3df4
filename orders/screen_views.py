"""The trading screen's views: the page, its live part (polled only while its stream is down)
and a cancel from it. What they show is orders.screen's; orders.views keeps the ticket the
screen embeds."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.backends.utils import csrf_input
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.access import desk_view
from accounts.audit import client_ip
from accounts.selectors import accounts_tradable
from positions.selectors import position_settings
from positions.services import LeverageInvalid, leverage_set

from . import selectors
from .forms import TicketForm
from .screen import (
    Screen,
    screen_choose,
    screen_find,
    screen_instruments,
    screen_live_context,
    screen_query,
)
from .services import OrderNotCancelable, order_cancel


@desk_view
def trade(request):
    accounts = accounts_tradable(user=request.user)
    if not accounts.exists():
        return render(request, "orders/ticket_refused.html", status=403)
    screen = screen_choose(
        user=request.user,
        account_pk=request.GET.get("account", ""),
        symbol=request.GET.get("instrument", ""),
    )
    if screen is None:
        return render(request, "orders/trade.html", {"accounts": accounts, "screen": None})
    form = TicketForm(
        accounts=accounts,
        initial={
            "account": screen.account,
            "symbol": screen.instrument.symbol_id_coinapi,
            "screen": "trade",
        },
    )
    context = screen_live_context(
        user=request.user, screen=screen, csrf_input=csrf_input(request)
    ) | {
        "form": form,
        "accounts": accounts,
        "instruments": screen_instruments(account=screen.account),
    }
    if screen.instrument.is_derivative:
        context["leverage"], context["cross"] = position_settings(
            account_id=screen.account.pk, symbol_id_exchange=screen.instrument.symbol_id_exchange
        )
    return render(request, "orders/trade.html", context)


@desk_view
def trade_live(request):
    """The screen's live part, for its poll while the stream is down."""
    return _live(request, _screen_named(request, request.GET))


def _screen_named(request, params) -> Screen:
    """The screen the request's parameters name exactly, else 404."""
    screen = screen_find(
        user=request.user,
        account_pk=params.get("account", ""),
        symbol=params.get("instrument", ""),
    )
    if screen is None:
        raise Http404
    return screen


def _live(request, screen: Screen, **extra):
    context = screen_live_context(user=request.user, screen=screen, csrf_input=csrf_input(request))
    return render(request, "orders/trade.html#live", context | extra)


@desk_view
@require_POST
def trade_leverage(request):
    """Set the screen's account's leverage and margin mode on its derivative (audited)."""
    screen = _screen_named(request, request.POST)
    try:
        leverage_set(
            account=screen.account,
            instrument=screen.instrument,
            leverage=request.POST.get("leverage", ""),
            cross=request.POST.get("margin") == "cross",
            user=request.user,
            ip=client_ip(request),
        )
        notice = "Leverage set."
    except LeverageInvalid as refused:
        notice = "; ".join(message for messages in refused.errors.values() for message in messages)
    if request.htmx:
        return _live(request, screen, notice=notice)
    return redirect(reverse("trade") + "?" + screen_query(screen))


@desk_view
@require_POST
def trade_cancel(request, pk: int):
    """Cancel one of the screen's working orders (of any account the user may trade); the
    screen's live part comes back."""
    access = selectors.order_get_for_user(user=request.user, pk=pk)
    if access is None:
        raise Http404
    if not access.may_trade:
        raise PermissionDenied("You may not trade this account.")
    order = access.order
    notice = f"Cancel requested for {order.client_order_id}."
    try:
        order_cancel(order=order, user=request.user, ip=client_ip(request))
    except OrderNotCancelable as refusal:
        notice = str(refusal)
    # The screen it was cancelled from (its query), which may be another account's: the desk's
    # working orders are on every screen of their market. Else the order's own.
    screen = screen_find(
        user=request.user,
        account_pk=request.GET.get("account", ""),
        symbol=request.GET.get("instrument", ""),
    ) or Screen(account=order.account, instrument=order.instrument)
    if request.htmx:
        return _live(request, screen, notice=notice)
    return redirect(reverse("trade") + "?" + screen_query(screen))
