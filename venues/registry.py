"""The venue catalog: venue code -> display name, required parameters and adapter.

Adapters are imported lazily, by dotted path, so that a web process never imports an exchange
library it does not need.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import import_module


@dataclass(frozen=True)
class VenueInfo:
    code: str
    name: str
    required_parameters: tuple[str, ...]
    adapter: str | None  # dotted path of the adapter class; None: not tradable in this build
    location_id: str = "self-hosted"
    closed: str = ""  # why the venue can no longer be linked, when it cannot


CATALOG: dict[str, VenueInfo] = {
    info.code: info
    for info in (
        VenueInfo("PAPER", "Paper exchange (simulated)", (), "venues.paper.adapter.PaperVenue"),
        VenueInfo("KRAKEN", "Kraken", ("PrivateApiKey", "PublicApiKey"), None),
        VenueInfo("GEMINI", "Gemini", ("PrivateApiKey", "PublicApiKey"), None),
        VenueInfo(
            "COINBASE", "Coinbase Exchange", ("PassPhrase", "PrivateApiKey", "PublicApiKey"), None
        ),
        VenueInfo(
            "BITMEX",
            "BitMEX",
            ("PrivateApiKey", "PublicApiKey"),
            None,
            closed="BitMEX closed on 2026-09-23 and can no longer be linked.",
        ),
    )
}

# Separators the contract allows between a venue code and an account tag: KRAKEN/JOHN.
TAG_SEPARATORS = "~/.,:;\\!@#$%^&*-_+="


class UnknownVenue(LookupError):
    pass


def split_exchange_id(exchange_id: str) -> tuple[str, str]:
    """`KRAKEN/JOHN` -> ("KRAKEN", "JOHN"); `KRAKEN` -> ("KRAKEN", "")."""
    for position, char in enumerate(exchange_id):
        if char in TAG_SEPARATORS:
            return exchange_id[:position], exchange_id[position + 1 :]
    return exchange_id, ""


def venue_info(code: str) -> VenueInfo:
    try:
        return CATALOG[code]
    except KeyError:
        raise UnknownVenue(f"Unknown exchange {code!r}.") from None


@cache
def adapter_class(code: str) -> type:
    path = venue_info(code).adapter
    if path is None:
        raise UnknownVenue(f"Trading on {code} is not available in this build yet.")
    module_name, class_name = path.rsplit(".", 1)
    return getattr(import_module(module_name), class_name)
