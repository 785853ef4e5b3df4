"""The order pages: ticket, blotter, order detail, history. Thin: selectors read, services write."""

from __future__ import annotations

import csv
import hashlib
import io
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.backends.utils import csrf_input
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseStopPolling

from accounts.access import desk_view
from accounts.audit import client_ip
from accounts.selectors import accounts_tradable, accounts_visible

from . import funds, pages, selectors
from .changes import changes_version
from .forms import SERVICE_TO_TICKET_FIELD, HistoryFilterForm, TicketForm
from .instruments import contract_value, instrument_find
from .money import NotADecimal, amount_presets, parse_decimal, plain
from .services import (
    OrderInvalid,
    OrderNotCancelable,
    order_cancel,
    order_submit,
    orders_cancel_all,
    orders_kill_switch,
    positions_flatten,
    ticket_check,
)
from .services.flatten import CONFIRMATION as FLATTEN_CONFIRMATION
from .statuses import ROUTING_SETTLED

TICKET_FIELDS = [
    "account", "symbol", "side", "amount", "price", "time_in_force", "expire_time", "post_only",
]  # fmt: skip


# --- ticket -----------------------------------------------------------------------------------


@desk_view
def ticket(request):
    accounts = accounts_tradable(user=request.user)
    if not accounts.exists():
        return render(request, "orders/ticket_refused.html", status=403)
    form = TicketForm(accounts=accounts)
    return render(request, "orders/ticket.html", _ticket_context(form, accounts))


def _ticket_context(form, accounts, **extra):
    return {
        "form": form,
        "instruments": selectors.instruments_for_ticket(accounts=accounts),
        **extra,
    }


@desk_view
@require_POST
def ticket_check_view(request):
    """As the trader types: market, balance, notional, fee, and each problem next to its field."""
    accounts = accounts_tradable(user=request.user)
    form = TicketForm(request.POST, accounts=accounts)
    context = _check(form) | {"oob_errors": True, "ticket_fields": TICKET_FIELDS}
    # While typing, a field left empty is not yet a mistake; the submit still says so.
    context["field_errors"] = {
        name: problems
        for name, problems in context["field_errors"].items()
        if request.POST.get(name, "").strip()
        or name not in form.fields
        or not form.fields[name].required
    }
    return render(request, "orders/ticket.html#check", context)


def _check(form: TicketForm) -> dict:
    form.is_valid()
    data = form.cleaned_data
    account, symbol = data.get("account"), (data.get("symbol") or "").strip()
    context = {"field_errors": {name: list(errors) for name, errors in form.errors.items()}}
    if not account or not symbol:
        return context
    instrument = instrument_find(venue=account.venue, symbol=symbol)
    if instrument is None:
        context["field_errors"]["symbol"] = [f"No instrument {symbol!r} at {account.venue}."]
        return context
    quote = selectors.quote_for(instrument=instrument)
    context.update(instrument=instrument, quote=quote)
    side = data.get("side") or "BUY"
    if instrument.is_derivative:  # margin, in the settlement asset, either side
        asset = instrument.settlement_asset
    else:
        asset = instrument.quote if side == "BUY" else instrument.base
    available = funds.balance_available(account=account, asset=asset)
    context.update(asset=asset, available=available)
    context["presets"] = amount_presets(
        side=side,
        available=available,
        price=_decimal_or_none(data.get("price")) or (quote.ask if quote else None),
        lot=instrument.lot_size,
    )
    try:
        amount, price = (
            parse_decimal(data.get("amount") or ""),
            parse_decimal(data.get("price") or ""),
        )
    except NotADecimal:
        return context
    notional = contract_value(instrument, amount, price)
    rate = _taker_fee(account.venue)
    context.update(notional=notional, fee=notional * rate if rate is not None else None)
    if quote is not None and quote.mid and price > 0:
        distance = abs(price - quote.mid) / quote.mid * 100
        if distance > settings.EMSWEB_TICKET_CONFIRM_PERCENT:
            _confirm_far(
                context,
                order=f"{side} at {plain(price)}: {instrument.symbol_id_coinapi} on {account}",
                distance=distance,
                ticked=data.get("confirm_far"),
            )
    if form.is_valid():
        try:
            checked = ticket_check(account=account, ticket=form.ticket())
            context["notes"] = checked.notes
        except OrderInvalid as invalid:
            _show_next_to_fields(invalid, context["field_errors"])
    return context


def _decimal_or_none(text: str | None) -> Decimal | None:
    try:
        return parse_decimal(text or "")
    except NotADecimal:
        return None


def _show_next_to_fields(invalid: OrderInvalid, field_errors: dict) -> None:
    for name, problems in invalid.errors.items():
        field = SERVICE_TO_TICKET_FIELD.get(name, name)
        field_errors.setdefault(field, []).extend(problems)


def _confirm_far(context: dict, *, order: str, distance: Decimal, ticked: str | None) -> None:
    """A limit far from the market needs a second confirmation. The tick names the order it
    was given for (side, instrument, price, account), so that it never sends another: a price
    retyped, the other side, another instrument or account."""
    distance = distance.quantize(Decimal("0.1"))
    confirmed = ticked == order
    context.update(
        far_from_market=distance,
        far_confirmation=order,
        far_confirmed=confirmed,
        # One box per order, its id a CSS name (htmx finds a preserved box by #id).
        far_box_id=f"confirm-far-{hashlib.sha256(order.encode()).hexdigest()[:16]}",
    )
    if not confirmed:
        context["field_errors"].setdefault("price", []).append(
            f"{distance}% from the market: tick the confirmation to send it."
        )


def _taker_fee(venue: str) -> Decimal | None:
    """The taker rate where emsweb knows it; elsewhere the ticket says it does not."""
    return settings.EMSWEB_PAPER_TAKER_FEE if venue == "PAPER" else None


@desk_view
@require_POST
def ticket_submit(request):
    accounts = accounts_tradable(user=request.user)
    if not accounts.exists():
        raise PermissionDenied("You may not trade.")
    form = TicketForm(request.POST, accounts=accounts)
    context = _check(form)
    if form.is_valid() and not context["field_errors"]:
        try:
            ticket = form.ticket()
            order = order_submit(
                account=form.cleaned_data["account"],
                ticket=ticket,
                user=request.user,
                ip=client_ip(request),
                # A double click sends the same form twice: the second gets the same order back.
                request_hash=hashlib.sha256(repr(ticket).encode()).hexdigest(),
            )
        except OrderInvalid as invalid:
            # What only the submit checks (the risk limits) shows next to the ticket's fields too.
            context["field_errors"] = {}
            _show_next_to_fields(invalid, context["field_errors"])
        else:
            fresh = TicketForm(
                accounts=accounts,
                initial={
                    "account": order.account,
                    "symbol": form.cleaned_data["symbol"],
                    "screen": form.cleaned_data["screen"],
                },
            )
            return render(
                request,
                "orders/ticket.html#ticket",
                _ticket_context(fresh, accounts, placed=order),
            )
    return render(request, "orders/ticket.html#ticket", _ticket_context(form, accounts, **context))


@desk_view
def order_outcome(request, pk: int):
    """What became of an order just placed; polled until routing settles."""
    context = pages.order_outcome_context(user=request.user, pk=pk)
    if context is None:
        raise Http404
    response = render(request, "orders/ticket.html#outcome", context)
    if context["placed"].status in ROUTING_SETTLED:
        response.status_code = HttpResponseStopPolling.status_code
    return response


# --- blotter ----------------------------------------------------------------------------------


@desk_view
def blotter(request):
    return render(request, "orders/blotter.html", _blotter_context(request))


def _blotter_context(request) -> dict:
    return pages.blotter_context(
        user=request.user, show_all=request.GET.get("all") == "1", csrf_input=csrf_input(request)
    )


def blotter_rows(request):
    """The live part of the blotter. Nothing changed since the version the page holds: 204,
    after one Redis read and no database query (the session lives in Redis too)."""
    if not request.session.get("_auth_user_id"):
        return HttpResponse(status=401)
    try:
        seen = int(request.GET.get("v", "-1"))
    except ValueError:
        seen = -1
    if seen == changes_version():
        return HttpResponse(status=204)
    return _blotter_rows_changed(request)


@desk_view
def _blotter_rows_changed(request):
    context = pages.blotter_rows_context(
        user=request.user, show_all=request.GET.get("all") == "1", csrf_input=csrf_input(request)
    )
    return render(request, "orders/blotter.html#rows", context)


@desk_view
@require_POST
def cancel(request, pk: int):
    access = _order_for(request, pk)
    if not access.may_trade:
        raise PermissionDenied("You may not trade this account.")
    try:
        order_cancel(order=access.order, user=request.user, ip=client_ip(request))
    except OrderNotCancelable as refusal:
        messages.warning(request, str(refusal))
    return _back_to_blotter(request)


@desk_view
@require_POST
def cancel_all(request, account_pk: int):
    account = accounts_tradable(user=request.user).filter(pk=account_pk).first()
    if account is None:
        raise PermissionDenied("You may not trade this account.")
    count = orders_cancel_all(account=account, user=request.user, ip=client_ip(request))
    messages.info(request, f"Cancel requested for {count} order(s) on {account.exchange_id}.")
    return _back_to_blotter(request)


@desk_view
@require_POST
def kill_switch(request):
    """Halt and cancel everything on every account this user may trade (an admin: the desk),
    once confirmed."""
    if request.POST.get("confirm") != "CANCEL ALL":
        messages.error(request, "Type CANCEL ALL to confirm the kill switch.")
        return _back_to_blotter(request)
    count = orders_kill_switch(
        accounts=list(accounts_tradable(user=request.user)),
        user=request.user,
        ip=client_ip(request),
    )
    messages.warning(
        request,
        f"Kill switch: trading halted and cancel requested for {count} order(s). "
        "A desk admin resumes trading.",
    )
    return _back_to_blotter(request)


@desk_view
@require_POST
def flatten(request):
    """Close every position on the accounts this user may trade with reduce-only IOC orders,
    once confirmed; say what could not be closed."""
    back = "blotter" if request.POST.get("back") == "blotter" else "overview"
    if request.POST.get("confirm") != FLATTEN_CONFIRMATION:
        messages.error(request, f"Type {FLATTEN_CONFIRMATION} to confirm flatten.")
        return redirect(back)
    report = positions_flatten(
        accounts=list(accounts_tradable(user=request.user)),
        user=request.user,
        ip=client_ip(request),
        wait=settings.EMSWEB_API_ROUTING_WAIT,
    )
    messages.warning(request, f"Flatten: {len(report.orders)} reduce-only IOC order(s) sent.")
    for line in report.not_closed:
        messages.error(request, f"Not closed: {line}")
    return redirect(back)


def _back_to_blotter(request):
    if request.htmx:
        return render(request, "orders/blotter.html#blotter", _blotter_context(request))
    show_all = "?all=1" if request.GET.get("all") == "1" else ""
    return redirect(reverse("blotter") + show_all)


# --- order detail -----------------------------------------------------------------------------


@desk_view
def order_detail(request, pk: int):
    """The order's facts, timeline and fills; an htmx poll (the page's fallback while its stream
    is down) gets the live part alone."""
    context = pages.order_detail_context(user=request.user, pk=pk)
    if context is None:
        raise Http404
    if request.htmx:
        return render(request, "orders/detail.html#detail", context)
    return render(request, "orders/detail.html", context)


def _order_for(request, pk: int) -> selectors.OrderAccess:
    """The order and whether this user may trade it; 404 when they may not see it."""
    access = selectors.order_get_for_user(user=request.user, pk=pk)
    if access is None:
        raise Http404
    return access


# --- history ----------------------------------------------------------------------------------


@desk_view
def history(request):
    form = HistoryFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    page = selectors.history_page(
        user=request.user, filters=filters, cursor=request.GET.get("after")
    )
    query = request.GET.copy()
    query.pop("after", None)
    context = {
        "form": form,
        "page": page,
        "rows": [pages.order_row(order) for order in page.orders],
        "query": query.urlencode(),
    }
    if request.htmx:
        return render(request, "orders/history.html#results", context)
    context["choices"] = _filter_choices(request, form)
    return render(request, "orders/history.html", context)


def _filter_choices(request, form: HistoryFilterForm) -> dict:
    """The filter's selects as (value, text, selected): written out by the page, as Django's
    select widgets (a template per option) took more than half of the history page's time."""
    accounts = accounts_visible(user=request.user).values_list("pk", "exchange_id")
    options = {
        "account": [("", "Any account"), *accounts],
        **{name: form.fields[name].choices for name in ("side", "status", "sort")},
    }
    return {
        name: [(str(value), text, str(value) == request.GET.get(name, "")) for value, text in pairs]
        for name, pairs in options.items()
    }


CSV_COLUMNS = [
    ("created_at", "created_at"),
    ("client_order_id", "client_order_id"),
    ("exchange_order_id", "exchange_order_id"),
    ("account", "account__exchange_id"),
    ("instrument", "instrument__symbol_id_coinapi"),
    ("side", "side"),
    ("time_in_force", "time_in_force"),
    ("amount_order", "amount_order"),
    ("price", "price"),
    ("amount_filled", "amount_filled"),
    ("avg_px", "avg_px"),
    ("status", "status"),
    ("placed_by", "created_by__username"),
    ("error_message", "error_message"),
]


# Rows per chunk of the CSV stream: a chunk per row was a socket write per row through gunicorn.
CSV_BATCH = 1000


@desk_view
def history_csv(request):
    """The filtered history as CSV, streamed in chunks of CSV_BATCH rows: memory stays flat
    whatever the row count."""
    form = HistoryFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    rows = (
        selectors.history_filter(user=request.user, filters=filters)
        .order_by("-created_at", "-id")
        .values_list(*(path for _, path in CSV_COLUMNS))
        .iterator(chunk_size=2000)
    )

    def chunks():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([name for name, _ in CSV_COLUMNS])
        for count, row in enumerate(rows, start=1):
            writer.writerow([_csv_value(value) for value in row])
            if count % CSV_BATCH == 0:
                yield _drained(buffer)
        yield _drained(buffer)

    response = StreamingHttpResponse(chunks(), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="emsweb-orders.csv"'
    return response


def _drained(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _csv_value(value):
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return "" if value is None else value
