"""Market quotes for the ticket (best bid, best ask, last) and the risk check's reference price,
kept in Redis by the workers with the time they were read: the web process shows them without
ever calling a venue."""

from __future__ import annotations

import time

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
    read_at = time.time()
    mapping = {
        symbol: "|".join("" if part is None else str(part) for part in (bid, ask, last, read_at))
        for symbol, (bid, ask, last) in quotes.items()
    }
    with redis_client().pipeline() as pipe:
        pipe.hset(key, mapping=mapping)
        pipe.expire(key, KEEP_SECONDS)
        pipe.execute()
    return len(mapping)
