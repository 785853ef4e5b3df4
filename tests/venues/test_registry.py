"""The venue catalog: the built-in venues, ccxt exchanges enabled by configuration, BitMEX
closed, and a registry that a web process imports without importing ccxt."""

from __future__ import annotations

import subprocess
import sys

import pytest

from venues import registry
from venues.registry import (
    CATALOG,
    UnknownVenue,
    adapter_class,
    client_order_id_format,
    required_parameters,
    venue_info,
)


def test_the_seeds_venues_map_to_ccxt_with_the_seeds_parameter_names():
    assert venue_info("KRAKEN").ccxt_id == "kraken"
    assert venue_info("GEMINI").ccxt_id == "gemini"
    coinbase = venue_info("COINBASE")
    assert coinbase.ccxt_id == "coinbaseexchange"  # with a passphrase: Coinbase Exchange
    assert sorted(coinbase.required_parameters) == ["PassPhrase", "PrivateApiKey", "PublicApiKey"]
    advanced = venue_info("COINBASEADV")
    assert advanced.ccxt_id == "coinbase" and "PassPhrase" not in advanced.required_parameters
    assert venue_info("BINANCE").ccxt_id == "binance"
    assert venue_info("BITSTAMP").ccxt_id == "bitstamp"


def test_bitmex_is_listed_closed_and_not_tradable():
    bitmex = venue_info("BITMEX")
    assert "closed on 2026-09-23" in bitmex.closed
    with pytest.raises(UnknownVenue):
        adapter_class("BITMEX")


def test_each_ccxt_venue_gets_its_own_adapter_class():
    kraken, gemini = adapter_class("KRAKEN"), adapter_class("GEMINI")
    assert kraken is not gemini
    assert (kraken.code, kraken.ccxt_id) == ("KRAKEN", "kraken")
    assert adapter_class("KRAKEN") is kraken


def test_another_ccxt_exchange_is_enabled_by_configuration(settings):
    settings.EMSWEB_CCXT_VENUES = {
        "KUCOIN": "kucoin",
        "BAD-CODE": "kucoin",
        "NOPE": "no_such_exchange",
        "OKX": "kucoin",  # a built-in code stays the built-in venue
    }
    info = venue_info("KUCOIN")
    assert info.ccxt_id == "kucoin" and info.name == "KuCoin"
    # From ccxt's requiredCredentials: apiKey, secret and password.
    assert info.required_parameters == ("PassPhrase", "PrivateApiKey", "PublicApiKey")
    assert "KUCOIN" in CATALOG and "NOPE" not in CATALOG and "BAD-CODE" not in CATALOG
    assert adapter_class("KUCOIN").ccxt_id == "kucoin"
    assert venue_info("OKX").ccxt_id == "okx"


def test_required_parameters_use_the_seeds_names_where_there_are_some():
    assert required_parameters({"apiKey": True, "secret": True, "uid": True, "token": False}) == (
        "PrivateApiKey",
        "PublicApiKey",
        "Uid",
    )


def test_a_venue_through_the_hosted_ems_is_enabled_by_configuration(settings):
    settings.EMSWEB_HOSTED_EMS_VENUES = {"EMSKRAKEN": "KRAKEN"}
    info = venue_info("EMSKRAKEN")
    assert (info.upstream_id, info.ccxt_id, info.required_parameters) == ("KRAKEN", "kraken", ())


def test_the_client_order_id_is_formatted_for_the_venue_before_sending():
    assert client_order_id_format("PAPER", "YOUR-UNIQUE-IDENTIFIER-FOR-ORDER-001") == (
        "YOUR-UNIQUE-IDENTIFIER-FOR-ORDER-001"
    )
    kraken = client_order_id_format("KRAKEN", "YOUR-UNIQUE-IDENTIFIER-FOR-ORDER-001")
    assert kraken != "YOUR-UNIQUE-IDENTIFIER-FOR-ORDER-001" and len(kraken) == 36
    assert client_order_id_format("KRAKEN", "short-id") == "short-id"
    assert client_order_id_format("NOSUCHVENUE", "x") == "x"


def test_the_registry_imports_without_ccxt():
    code = (
        "import django, sys; django.setup();"
        "import venues.registry as r; r.venue_info('KRAKEN'); list(r.CATALOG.values());"
        "print('ccxt' in sys.modules)"
    )
    env_python = sys.executable
    answer = subprocess.run(
        [env_python, "-c", code],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "DJANGO_SETTINGS_MODULE": "tests.settings"},
        check=True,
    )
    assert answer.stdout.strip().splitlines()[-1] == "False"


def test_the_catalog_keeps_paper_first():
    assert next(iter(CATALOG)) == "PAPER"
    assert registry.venue_info("PAPER").adapter == "venues.paper.adapter.PaperVenue"
