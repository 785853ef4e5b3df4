"""Formatting for the risk page: limits and usage as figures, trading states as badges that read
without colour."""

from decimal import Decimal

from django import template
from django.utils.html import format_html

from orders.templatetags.desk import num

from ..models import TradingState

register = template.Library()


@register.filter
def figure(value):
    """A limit or its usage: numbers grouped and without trailing zeros (a USD limit is stored
    with 18 places); an instrument list as it is."""
    if isinstance(value, int | Decimal):
        return num(value)
    return value


@register.filter
def trading_badge(state: str):
    return format_html(
        '<span class="state state-{}">{}</span>', state.lower(), TradingState(state).label
    )
