"""Market quotes for the ticket (best bid, best ask, last), kept in Redis by the workers: the
web process shows them without ever calling a venue."""

from __future__ import annotations

from accounts.credentials import Credentials
from emsweb.redis import redis_client
from venues.registry import adapter_class

KEEP_SECONDS = 60


def quotes_refresh(*, venue: str) -> int:
    """Store a venue's current quotes, if its adapter can give them. Returns how many."""
    adapter = adapter_class(venue)(account_key="", credentials=Credentials({}), sandbox=False)
    if not hasattr(adapter, "quotes"):
        return 0
    quotes = adapter.quotes()
    if not quotes:
        return 0
    key = f"emsweb:quotes:{venue}"
    mapping = {
        symbol: "|".join("" if part is None else str(part) for part in (bid, ask, last))
        for symbol, (bid, ask, last) in quotes.items()
    }
    with redis_client().pipeline() as pipe:
        pipe.hset(key, mapping=mapping)
        pipe.expire(key, KEEP_SECONDS)
        pipe.execute()
    return len(mapping)
