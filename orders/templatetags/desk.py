"""Formatting for the desk's pages: numbers at the instrument's precision, times in UTC that
the browser shows in the user's own zone (UTC on hover), statuses that read without colour."""

from decimal import Decimal

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()

STATUS_WORDS = {
    "RECEIVED": "Received",
    "ROUTING": "Routing",
    "ROUTED": "Routed",
    "NEW": "Working",
    "PENDING_CANCEL": "Cancel pending",
    "PARTIALLY_FILLED": "Part filled",
    "FILLED": "Filled",
    "CANCELED": "Canceled",
    "REJECTED": "Rejected",
}


@register.filter
def places(value, step):
    """`value` with as many decimals as `step` (a tick or lot size) has."""
    if value is None or value == "":
        return "—"
    value = Decimal(value)
    if step:
        exponent = Decimal(step).normalize().as_tuple().exponent
        if exponent < 0:
            return f"{value.quantize(Decimal(1).scaleb(exponent)):,}"
    return f"{value.normalize():,f}"


@register.filter
def num(value, decimals=None):
    if value is None or value == "":
        return "—"
    value = Decimal(value)
    if decimals is not None:
        return f"{value.quantize(Decimal(1).scaleb(-int(decimals))):,}"
    return f"{value.normalize():,f}"


@register.filter
def when(moment):
    if not moment:
        return "—"
    utc = moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"
    return format_html('<time datetime="{}" title="{}">{}</time>', moment.isoformat(), utc, utc)


@register.filter
def status_badge(status, reconciling=False):
    if reconciling:
        return mark_safe(  # noqa: S308 - a constant
            '<span class="status status-reconciling" title="Outcome unknown: emsweb is asking '
            'the venue what became of it">Reconciling</span>'
        )
    return format_html(
        '<span class="status status-{}">{}</span>', status.lower(), STATUS_WORDS.get(status, status)
    )


@register.filter
def side_badge(side):
    return format_html('<span class="side side-{}">{}</span>', side.lower(), side)


@register.filter
def errors_for(field_errors, name):
    return (field_errors or {}).get(name, [])
