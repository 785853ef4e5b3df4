"""The desk's pages, updated by push: what an open page gets over /stream when events arrive.

A page names its live parts in `data-stream` (e.g. "page=blotter&all=1"), which becomes the
query of its /stream connection. For a batch of events, `page_fragments` renders the parts of
that page the events touch, with the same partials and the same context functions as the views
that poll them (orders.pages, accounts.pages, risk.pages), each root element marked
`hx-swap-oob="outerHTML"` so that htmx swaps it by id (static/js/emsweb.js). Who may see and
trade what is decided there, exactly as for the views.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from django.conf import settings
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils.html import format_html

from accounts.pages import balances_context, overview_context
from accounts.selectors import accounts_visible
from algos.models import CHILD_PREFIX
from algos.pages import parents_context
from orders.pages import blotter_rows_context, order_detail_context, order_outcome_context
from orders.screen import screen_accounts, screen_find, screen_live_context
from risk.pages import risk_context

from .reader import Event

PAGES = frozenset({"blotter", "overview", "balances", "order", "ticket", "risk", "trade"})
CSRF_PARAM = "csrf_cookie"  # set by the consumer from the connection's cookie, never the query

# What each page shows, by event kind: the blotter its working orders (and, through an account's
# state, whether it may cancel them), the overview everything, the balances balances and syncs,
# the risk page the usage orders make and the trading states and limits (risk.services writes an
# account's event for those), the trading screen the desk's orders and fills on its market, its
# account's balances, and the account's state (a refused key, a venue that does not answer).
KINDS = {
    "blotter": {"order", "account", "parent"},
    "overview": {"order", "balance", "account", "position"},
    "balances": {"balance", "account"},
    "order": {"order"},
    "ticket": {"order"},
    "risk": {"order", "account"},
    "trade": {"order", "balance", "account", "position"},
}


def page_params(*, query: dict[str, str], cookies: dict[str, str]) -> tuple[str, dict]:
    """The page and its parameters for a /stream connection, from its query string and cookies:
    the CSRF cookie rides along so that pushed forms carry a token as the views' do."""
    params = {name: value for name, value in query.items() if name != CSRF_PARAM}
    params[CSRF_PARAM] = cookies.get(settings.CSRF_COOKIE_NAME, "")
    return params.pop("page", ""), params


def page_fragments(*, user, page: str, params: dict, events: list[Event] | None) -> str | None:
    """The HTML to push to one open page for `events` (those since its last push), or None when
    none of them shows on it. `events=None` means the page has just connected (or reconnected):
    all of its live parts, as they are now, since it may have missed anything before."""
    html = _fragments(user, page, params, events)
    # Starting with "<": what the page tells from the stream's JSON heartbeat.
    return html.strip() if html else None


def _fragments(user, page: str, params: dict, events: list[Event] | None) -> str | None:
    if page not in PAGES or events == [] or not (user.is_authenticated and user.is_active):
        return None
    if events is not None:
        relevant = [event for event in events if event.kind in KINDS[page]]
        if not relevant or not _visible(user, relevant):
            return None
    else:
        relevant = None
    if page == "blotter":
        return _blotter(user, params, relevant)
    if page == "overview":
        return render_to_string("accounts/overview.html#live", _oob(overview_context(user=user)))
    if page == "balances":
        context = balances_context(user=user, refresh_requested=params.get("refresh") or None)
        return render_to_string("accounts/balances.html#tables", _oob(context))
    if page == "risk":
        context = risk_context(user=user) | {"csrf_token": _csrf_token(params)}
        return render_to_string("risk/risk.html#scopes", _oob(context))
    if page == "trade":
        return _trade(user, params, relevant)
    return _one_order(user, page, params, relevant)


def _visible(user, events: list[Event]) -> bool:
    accounts = {event.account_id for event in events}
    return accounts_visible(user=user).filter(pk__in=accounts).exists()


def _oob(context: dict) -> dict:
    return context | {"oob": True}


def _csrf_token(params: dict) -> str:
    """A masked token for the connection's CSRF cookie (a fresh mask per render, as Django's
    own); none without the cookie (htmx's requests still carry one in X-CSRFToken)."""
    secret = params.get(CSRF_PARAM)
    if not secret:
        return ""
    request = HttpRequest()
    request.META["CSRF_COOKIE"] = secret
    return get_token(request)


def _csrf_input(params: dict) -> str:
    """The hidden token input of a pushed form (a row's cancel)."""
    token = _csrf_token(params)
    if not token:
        return ""
    return format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', token)


def _blotter(user, params: dict, events: list[Event] | None) -> str:
    """Its working orders, and the algos' parents with their children, each when the events
    move it (both on connect): the parents' part costs a few queries per parent, and most
    order events are not an algo's."""
    html = ""
    if events is None or any(event.kind != "parent" for event in events):
        context = blotter_rows_context(
            user=user, show_all=params.get("all") == "1", csrf_input=_csrf_input(params)
        )
        # A <tbody> parses as one only inside a <table>, and an element after it only if that
        # table is closed: htmx swaps the out-of-band parts nested in the wrapper by their ids.
        rows = render_to_string("orders/blotter.html#rows", _oob(context)).strip()
        html = f"<table>{rows}</table>"
    if events is None or any(map(_moves_parents, events)):
        parents = parents_context(user=user) | {"csrf_token": _csrf_token(params)}
        html += render_to_string("algos/list.html#parents", _oob(parents))
    return html


def _moves_parents(event: Event) -> bool:
    """An algo's own event, an account's (whether the user may control an algo follows its
    accounts' trading state), or an order event of what may be an algo's child (named by
    algos.models.child_client_order_id)."""
    if event.kind in ("parent", "account"):
        return True
    return event.kind == "order" and _client_order_id(event).startswith(CHILD_PREFIX)


def _client_order_id(event: Event) -> str:
    return json.loads(event.message).get("client_order_id") or ""


def _trade(user, params: dict, events: list[Event] | None) -> str | None:
    """The trading screen's live part, when an event is about an account whose orders it shows
    (the desk's on its market: orders.screen)."""
    screen = screen_find(
        user=user, account_pk=params.get("account", ""), symbol=params.get("instrument", "")
    )
    if screen is None:
        return None
    if events is not None:
        shown = set(screen_accounts(user=user, screen=screen).values_list("pk", flat=True))
        if all(event.account_id not in shown for event in events):
            return None
    context = screen_live_context(user=user, screen=screen, csrf_input=_csrf_input(params))
    return render_to_string("orders/trade.html#live", _oob(context))


def _one_order(user, page: str, params: dict, events: list[Event] | None) -> str | None:
    """The order detail or the ticket's outcome, for the order `id` names; None when the user
    may not see it or when no event is about it."""
    pk = params.get("id", "")
    if not (pk.isascii() and pk.isdigit()):
        return None
    if page == "order":
        context = order_detail_context(user=user, pk=int(pk))
        template = "orders/detail.html#detail"
    else:
        context = order_outcome_context(user=user, pk=int(pk))
        template = "orders/ticket.html#outcome"
    if context is None:
        return None
    order = context.get("order") or context["placed"]
    if events is not None and (order.account_id, order.client_order_id) not in _orders_in(events):
        return None
    if page == "order":
        context["csrf_token"] = _csrf_token(params)
    return render_to_string(template, _oob(context))


def _orders_in(events: Iterable[Event]) -> set[tuple[int, str]]:
    """(account id, client order id) of each order event (its ORDER_EXEC_REPORT_UPDATE)."""
    found = set()
    for event in events:
        if event.kind == "order":
            found.add((event.account_id, _client_order_id(event)))
    return found
