"""CcxtDerivativesVenue: a ccxt venue that trades an exchange's perpetuals and futures.

Orders, lookups, cancels, fills and balances (the margin wallet) are the spot adapter's, over the
contract markets; on top: positions from the exchange's positions call and leverage through its
own calls (venues.base's optional capabilities). Only the contracts on the assets the desk
trades (`EMSWEB_DERIVATIVES_ASSETS`) are loaded as instruments: an exchange lists hundreds, and
the ticket's search would drown in them.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from django.conf import settings

from venues.base import InstrumentSpec, VenuePosition
from venues.errors import Rejected

from .adapter import CcxtVenue
from .convert import positions_merged, venue_position
from .errors import Operation

logger = logging.getLogger(__name__)
ALL_ASSETS = "*"


class CcxtDerivativesVenue(CcxtVenue):
    def instruments(self) -> list[InstrumentSpec]:
        assets = {asset.strip().upper() for asset in settings.EMSWEB_DERIVATIVES_ASSETS}
        specs = super().instruments()
        if ALL_ASSETS not in assets:
            specs = [spec for spec in specs if spec.base.upper() in assets]
        # The contract's name (<VENUE>_PERP_BASE_QUOTE, ..._FTS_..._YYMMDD) must name one
        # instrument: where two contracts share it (a linear and an inverse one on the same
        # pair), the first by the exchange's symbol is kept.
        named: dict[tuple, InstrumentSpec] = {}
        for spec in sorted(specs, key=lambda spec: spec.symbol_id_exchange):
            key = (spec.kind, spec.base, spec.quote, spec.expiry)
            if key in named:
                logger.warning(
                    "%s: %s is named as %s is; not loaded",
                    self.name,
                    spec.symbol_id_exchange,
                    named[key].symbol_id_exchange,
                )
                continue
            named[key] = spec
        return list(named.values())

    def positions(self) -> list[VenuePosition]:
        """Every position the exchange reports, one per contract, by its own symbol. A flat
        contract the exchange leaves out is flat at the next record (positions_record)."""
        connection = self._account()
        raw = self._call(connection, Operation.READ, self.profile.positions, connection.exchange)
        by_symbol = {market["symbol"]: market for market in self._tradable().values()}
        positions = []
        for item in raw:
            market = by_symbol.get(item.get("symbol") or "")
            if market is None:
                continue  # a contract this venue does not trade (another subtype)
            position = venue_position(
                item, symbol_id_exchange=str(market["id"]), settle=str(market.get("settle") or "")
            )
            if position is not None:
                position = self.profile.repair_position(position, item)
                positions.append(position)
        return positions_merged(positions)

    def leverage_set(self, symbol_id_exchange: str, leverage: Decimal, cross: bool) -> None:
        """The margin mode and leverage of one contract, at the exchange. Whole leverage only:
        every exchange here takes an integer; refused before sending where the exchange sets
        none per contract."""
        if self.profile.no_leverage:
            raise Rejected(self.profile.no_leverage)
        if leverage != leverage.to_integral_value():
            raise Rejected(f"{self.name} takes whole leverage only, not {leverage}.")
        connection = self._account()
        market = self._market(symbol_id_exchange)
        if market is None:
            raise Rejected(self._no_market(symbol_id_exchange))
        self._call(
            connection,
            Operation.READ,
            self.profile.leverage_set,
            connection.exchange,
            market["symbol"],
            int(leverage),
            cross,
        )
