"""Which market a screen may be shown: the one access check of /stream/market, on connecting."""

from __future__ import annotations

from dataclasses import dataclass

from accounts.access import session_may_stream
from accounts.selectors import accounts_visible
from market.feed import venue_name
from market.wire import Feed
from orders.instruments import instrument_find


@dataclass(frozen=True)
class ScreenTarget:
    account_id: int
    feed: Feed | None  # None: the account's venue has no such instrument
    venue_name: str


def screen_target(*, user, session, account: str, instrument: str) -> ScreenTarget | None:
    """The account and instrument a signed-in session asks to watch, if it may see the account
    (accounts.selectors.accounts_visible, past the second factor as the pages' stream); None
    when it may not, or the account does not exist."""
    if not account.isascii() or not account.isdigit():
        return None
    if not session_may_stream(user=user, session=session):
        return None
    found = accounts_visible(user=user).filter(pk=int(account)).first()
    if found is None:
        return None
    listed = instrument_find(venue=found.venue, symbol=instrument) if instrument else None
    feed = Feed(found.venue, found.sandbox, listed.symbol_id_exchange) if listed else None
    return ScreenTarget(found.pk, feed, venue_name(found.venue))
