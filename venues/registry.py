"""The venue catalog: venue code -> display name, required parameters and adapter.

Adapters are imported lazily, by dotted path, so that a web process never imports an exchange
library it does not need. The built-in venues are listed here; more ccxt exchanges
(`EMSWEB_CCXT_VENUES`) and venues reached through the hosted EMS (`EMSWEB_HOSTED_EMS_VENUES`)
are enabled by configuration. Only a configured ccxt venue whose parameters must be derived
from ccxt's `requiredCredentials` imports ccxt, and only when the catalog is first read.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import import_module

from django.conf import settings

logger = logging.getLogger(__name__)

CCXT_ADAPTER = "venues.ccxt.adapter.CcxtVenue"
CCXT_DERIVATIVES_ADAPTER = "venues.ccxt.derivatives.CcxtDerivativesVenue"
HOSTED_EMS_ADAPTER = "venues.ems.adapter.HostedEmsVenue"

# ccxt's credential fields -> the parameter names a desk types in (the seed's names first).
CREDENTIAL_NAMES = {
    "apiKey": "PublicApiKey",
    "secret": "PrivateApiKey",
    "password": "PassPhrase",
    "uid": "Uid",
    "accountId": "AccountId",
    "login": "Login",
    "twofa": "TwoFactorSecret",
    "privateKey": "WalletPrivateKey",
    "walletAddress": "WalletAddress",
    "token": "Token",
}
KEYS = ("PrivateApiKey", "PublicApiKey")
VENUE_CODE = re.compile(r"^[A-Z0-9]{2,32}$")  # no separator: KRAKEN/JOHN splits at the "/"


@dataclass(frozen=True)
class VenueInfo:
    code: str
    name: str
    required_parameters: tuple[str, ...]
    adapter: str | None  # dotted path of the adapter class; None: not tradable in this build
    location_id: str = "self-hosted"
    closed: str = ""  # why the venue can no longer be linked, when it cannot
    ccxt_id: str = ""  # the ccxt exchange behind a ccxt venue (and a hosted EMS one's markets)
    upstream_id: str = ""  # the hosted EMS's exchange id, for a venue reached through it


BUILT_IN = (
    VenueInfo("PAPER", "Paper exchange (simulated)", (), "venues.paper.adapter.PaperVenue"),
    VenueInfo(
        "PAPER2", "Second paper exchange (simulated)", (), "venues.paper.second.SecondPaperVenue"
    ),
    VenueInfo("KRAKEN", "Kraken", KEYS, CCXT_ADAPTER, ccxt_id="kraken"),
    VenueInfo("GEMINI", "Gemini", KEYS, CCXT_ADAPTER, ccxt_id="gemini"),
    VenueInfo(
        "COINBASE",
        "Coinbase Exchange",
        ("PassPhrase", *KEYS),
        CCXT_ADAPTER,
        ccxt_id="coinbaseexchange",
    ),
    VenueInfo("COINBASEADV", "Coinbase Advanced Trade", KEYS, CCXT_ADAPTER, ccxt_id="coinbase"),
    VenueInfo("BINANCE", "Binance", KEYS, CCXT_ADAPTER, ccxt_id="binance"),
    VenueInfo("BITSTAMP", "Bitstamp", KEYS, CCXT_ADAPTER, ccxt_id="bitstamp"),
    # Derivatives: perpetuals and futures, named as the hosted EMS names them where it lists them.
    VenueInfo(
        "BINANCEFTS",
        "Binance USDⓈ-M futures",
        KEYS,
        CCXT_DERIVATIVES_ADAPTER,
        ccxt_id="binanceusdm",
    ),
    VenueInfo("BYBIT", "Bybit (linear)", KEYS, CCXT_DERIVATIVES_ADAPTER, ccxt_id="bybit"),
    VenueInfo("OKX", "OKX (swaps)", ("PassPhrase", *KEYS), CCXT_DERIVATIVES_ADAPTER, ccxt_id="okx"),
    VenueInfo(
        "KRAKENFTS",
        "Kraken Futures (multi-collateral)",
        KEYS,
        CCXT_DERIVATIVES_ADAPTER,
        ccxt_id="krakenfutures",
    ),
    VenueInfo("DERIBIT", "Deribit", KEYS, CCXT_DERIVATIVES_ADAPTER, ccxt_id="deribit"),
    VenueInfo(
        "BITMEX",
        "BitMEX",
        KEYS,
        None,
        closed="BitMEX closed on 2026-09-23 and can no longer be linked.",
    ),
)


class Catalog(Mapping[str, VenueInfo]):
    """The built-in venues, then the configured ones, in that order, read when first used."""

    def __init__(self, built_in: tuple[VenueInfo, ...]):
        self._built_in = {info.code: info for info in built_in}

    def _all(self) -> dict[str, VenueInfo]:
        configured = _configured(
            tuple(sorted(_setting("EMSWEB_CCXT_VENUES").items())),
            tuple(sorted(_setting("EMSWEB_HOSTED_EMS_VENUES").items())),
        )
        extra = {info.code: info for info in configured if info.code not in self._built_in}
        return {**self._built_in, **extra}

    def __getitem__(self, code: str) -> VenueInfo:
        return self._all()[code]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


def _setting(name: str) -> dict[str, str]:
    return dict(getattr(settings, name, None) or {})


@cache
def _configured(
    ccxt_venues: tuple[tuple[str, str], ...], hosted: tuple[tuple[str, str], ...]
) -> tuple[VenueInfo, ...]:
    infos = []
    for code, ccxt_id in ccxt_venues:
        info = _ccxt_venue(code.upper(), ccxt_id.strip())
        if info is not None:
            infos.append(info)
    built_in = {info.code: info for info in BUILT_IN}
    for code, upstream in hosted:
        code, upstream = code.upper(), upstream.strip().upper()
        if not VENUE_CODE.match(code):
            logger.error("EMSWEB_HOSTED_EMS_VENUES: %r is not a venue code (A-Z, 0-9)", code)
            continue
        known = built_in.get(upstream) or next((i for i in infos if i.code == upstream), None)
        infos.append(
            VenueInfo(
                code,
                f"{upstream} through the hosted EMS",
                (),
                HOSTED_EMS_ADAPTER,
                ccxt_id=known.ccxt_id if known else "",
                upstream_id=upstream,
            )
        )
    return tuple(infos)


def _ccxt_venue(code: str, ccxt_id: str) -> VenueInfo | None:
    if not VENUE_CODE.match(code):
        logger.error("EMSWEB_CCXT_VENUES: %r is not a venue code (A-Z, 0-9)", code)
        return None
    import ccxt  # only a configured venue needs ccxt's own description of itself

    if ccxt_id not in ccxt.exchanges:
        logger.error("EMSWEB_CCXT_VENUES: ccxt has no exchange %r (for %s)", ccxt_id, code)
        return None
    description = getattr(ccxt, ccxt_id)().describe()  # no network: its static description
    return VenueInfo(
        code,
        str(description.get("name") or ccxt_id),
        required_parameters(description.get("requiredCredentials", {})),
        CCXT_ADAPTER,
        ccxt_id=ccxt_id,
    )


def required_parameters(required_credentials: Mapping[str, bool]) -> tuple[str, ...]:
    """ccxt's `requiredCredentials` in the parameter names a desk types in, sorted."""
    names = [
        CREDENTIAL_NAMES.get(field, field[:1].upper() + field[1:])
        for field, required in required_credentials.items()
        if required
    ]
    return tuple(sorted(names))


CATALOG = Catalog(BUILT_IN)

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


def adapter_class(code: str) -> type:
    return _adapter_class(venue_info(code))


@cache
def _adapter_class(info: VenueInfo) -> type:
    if info.adapter is None:
        raise UnknownVenue(f"Trading on {info.code} is not available in this build yet.")
    module_name, class_name = info.adapter.rsplit(".", 1)
    adapter = getattr(import_module(module_name), class_name)
    # One adapter class serves many venues (every ccxt exchange): it makes one per venue.
    for_venue = getattr(adapter, "for_venue", None)
    return for_venue(info) if for_venue is not None else adapter


def market_data_venue(ccxt_id: str):
    """A ccxt venue with no keys, for an exchange's public markets: the hosted EMS lists none,
    so a venue reached through it takes them from the exchange ccxt knows."""
    info = VenueInfo(ccxt_id.upper(), ccxt_id, KEYS, CCXT_ADAPTER, ccxt_id=ccxt_id)
    return _adapter_class(info)(account_key=f"public:{ccxt_id}")


def client_order_id_format(code: str, client_order_id: str) -> str:
    """The client order id as the venue will be sent it (its own format where ours does not
    fit). Deterministic, so it can be recorded before sending and used to look the order up."""
    try:
        adapter = adapter_class(code)
    except UnknownVenue:
        return client_order_id
    formatting = getattr(adapter, "client_order_id_for", None)
    return formatting(client_order_id) if formatting is not None else client_order_id
