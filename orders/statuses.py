"""The order status vocabulary: the transition table, and every group of statuses by what it
means. Code names a group from here; nothing else spells a status set or a status string."""

from venues.base import OrdStatus

S = OrdStatus

# The contract's transition table, plus ROUTING -> REJECTED (which the hosted EMS shows).
TRANSITIONS: dict[str, frozenset[str]] = {
    S.RECEIVED: frozenset({S.ROUTING, S.REJECTED}),
    S.ROUTING: frozenset({S.ROUTED, S.REJECTED}),
    S.ROUTED: frozenset({S.REJECTED, S.NEW, S.PARTIALLY_FILLED, S.FILLED, S.CANCELED}),
    S.NEW: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.PENDING_CANCEL, S.CANCELED}),
    S.PENDING_CANCEL: frozenset({S.NEW, S.PARTIALLY_FILLED, S.FILLED, S.CANCELED}),
    S.PARTIALLY_FILLED: frozenset({S.FILLED, S.PENDING_CANCEL, S.CANCELED}),
    S.FILLED: frozenset(),
    S.CANCELED: frozenset(),
    S.REJECTED: frozenset(),
}

# Finished: never changes again.
TERMINAL_STATUSES = frozenset({S.FILLED, S.CANCELED, S.REJECTED})
# Not yet terminal. Query with status__in=WORKING_STATUSES, not exclude(status__in=TERMINAL_...):
# PostgreSQL estimates NOT IN (three common values) at a quarter of the table and scans all of
# it, where IN (six rare values) is an index scan over the few hundred working orders.
WORKING_STATUSES = frozenset(S.values) - TERMINAL_STATUSES
# A cancel may be sent now.
CANCELABLE = frozenset({S.NEW, S.PARTIALLY_FILLED})
# Sent (or being sent), the venue's answer not applied yet: a cancel waits for it.
IN_ROUTING = frozenset({S.ROUTING, S.ROUTED})
# No answer from the venue yet: the order POST waits on these.
UNANSWERED = frozenset({S.RECEIVED, S.ROUTING})
# From these a venue-side rejection is still news rather than a contradiction.
NOT_YET_ACCEPTED = frozenset({S.RECEIVED, S.ROUTING, S.ROUTED})
# Routing has an outcome: the ticket stops waiting for it.
ROUTING_SETTLED = TERMINAL_STATUSES | {S.NEW, S.PARTIALLY_FILLED}
# Ours say the venue has the order now: a sync expects to find them in its open list.
AT_VENUE_NOW = frozenset({S.ROUTED, S.NEW, S.PARTIALLY_FILLED, S.PENDING_CANCEL})
# Ours say the venue had the order at some point: the venue's own record must show it.
EVER_AT_VENUE = AT_VENUE_NOW | {S.FILLED, S.CANCELED}
