"""Formatting for the desk's pages: numbers at the instrument's precision, times in UTC that
the browser shows in the user's own zone (UTC on hover), statuses that read without colour."""

from decimal import Decimal
from functools import lru_cache

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

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
    quantum = _quantum(step) if step else None
    if quantum is not None:
        return f"{value.quantize(quantum):,}"
    return f"{value.normalize():,f}"


@lru_cache(maxsize=1024)
def _quantum(step) -> Decimal | None:
    """10^-n for a step with n decimals (None for a whole step): a blotter asks for the same few
    steps hundreds of times per render."""
    exponent = Decimal(step).normalize().as_tuple().exponent
    return Decimal(1).scaleb(exponent) if exponent < 0 else None


@register.filter
def num(value, decimals=None):
    if value is None or value == "":
        return "—"
    value = Decimal(value)
    if decimals is not None:
        return f"{value.quantize(Decimal(1).scaleb(-int(decimals))):,}"
    return f"{value.normalize():,f}"


@register.filter
def when(moment, precision: str = ""):
    """A time in UTC, which the browser shows in the user's zone to the second, or to the
    millisecond with `when:"ms"` (an order's timeline, where routing delays are read)."""
    if not moment:
        return "—"
    utc = moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"
    ms = " data-ms" if precision == "ms" else ""
    # Digits, dashes, colons and dots only: nothing to escape.
    return SafeString(f'<time datetime="{moment.isoformat()}" title="{utc}"{ms}>{utc}</time>')


RECONCILING_BADGE = mark_safe(  # noqa: S308 - a constant
    '<span class="status status-reconciling" title="Outcome unknown: emsweb is asking '
    'the venue what became of it">Reconciling</span>'
)
# Built once: a blotter shows a badge on every row.
STATUS_BADGES = {
    status: format_html('<span class="status status-{}">{}</span>', status.lower(), word)
    for status, word in STATUS_WORDS.items()
}
SIDE_BADGES = {
    side: format_html('<span class="side side-{}">{}</span>', side.lower(), side)
    for side in ("BUY", "SELL")
}


@register.filter
def status_badge(status, reconciling=False):
    if reconciling:
        return RECONCILING_BADGE
    badge = STATUS_BADGES.get(status)
    if badge is None:
        badge = format_html('<span class="status status-{}">{}</span>', status.lower(), status)
    return badge


@register.filter
def side_badge(side):
    badge = SIDE_BADGES.get(side)
    if badge is None:
        badge = format_html('<span class="side side-{}">{}</span>', side.lower(), side)
    return badge


@register.filter
def errors_for(field_errors, name):
    return (field_errors or {}).get(name, [])
