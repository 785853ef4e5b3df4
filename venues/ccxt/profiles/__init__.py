"""What differs between exchanges behind ccxt, one profile each; the generic profile for the rest.

A profile knows, for its exchange: the field that carries our client order id and the format
it must have; how time in force and post-only are asked for, and what cannot be; how to find
an order by client order id (ccxt's `fetch_order_with_client_order_id` sends the wrong fields
on several venues: never used here); where a key's permissions can be read; and small repairs
to ccxt's parsing. Findings checked against ccxt 4.5.90 (see research/RELIABILITY.md §2).
"""

from __future__ import annotations

from .base import NotOffered, Profile, derived_uuid
from .binance import Binance
from .binance_usdm import BinanceUsdm
from .bitstamp import Bitstamp
from .bybit import BybitLinear
from .coinbase import CoinbaseAdvanced, CoinbaseExchange
from .deribit import Deribit
from .gemini import Gemini
from .kraken import Kraken
from .krakenfutures import KrakenFutures
from .okx import OkxSwap

__all__ = ["NotOffered", "Profile", "derived_uuid", "profile_for"]

PROFILES: dict[str, type[Profile]] = {
    profile.ccxt_id: profile
    for profile in (
        Kraken,
        CoinbaseAdvanced,
        CoinbaseExchange,
        Gemini,
        Binance,
        Bitstamp,
        BinanceUsdm,
        BybitLinear,
        OkxSwap,
        KrakenFutures,
        Deribit,
    )
}


def profile_for(ccxt_id: str) -> Profile:
    """The exchange's own profile, or the generic one (ccxt's unified behaviour)."""
    profile = PROFILES.get(ccxt_id)
    if profile is not None:
        return profile()
    generic = Profile()
    generic.ccxt_id = ccxt_id
    return generic
