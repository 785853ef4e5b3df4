"""HostedEmsVenue: an account routed through the hosted EMS's trading REST API.

For a desk that already pays for the hosted EMS: its execution reports are the contract's own,
so they map straight through. The base URL and key come from settings
(EMSWEB_HOSTED_EMS_URL, EMSWEB_HOSTED_EMS_KEY); an emsweb venue code is mapped to the hosted
EMS's exchange id (EMSWEB_HOSTED_EMS_VENUES), and the account's tag goes along:
`EMSKRAKEN/JOHN` is the hosted `KRAKEN/JOHN`.

The hosted EMS lists no instruments over REST, so a venue whose exchange ccxt knows takes its
markets from there; orders name the market by the contract's symbol id
(`KRAKEN_SPOT_BTC_USD`), which the hosted EMS resolves itself.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import quote

import requests
import simplejson
from django.conf import settings

from venues.base import (
    Candle,
    InstrumentSpec,
    KeyCheck,
    MarketBook,
    OrderIntent,
    OrderRef,
    OrdSide,
    OrdStatus,
    TimeInForce,
    VenueBalance,
    VenueFill,
    VenueOrder,
)
from venues.errors import KeyRefused, OutcomeUnknown, Rejected, Unreachable, VenueError
from venues.network import never_sent
from venues.registry import market_data_venue, split_exchange_id

OPEN_STATUSES = {"RECEIVED", "ROUTING", "ROUTED", "NEW", "PENDING_CANCEL", "PARTIALLY_FILLED"}
_local = threading.local()


class HostedEmsVenue:
    code = ""
    upstream_id = ""
    ccxt_id = ""

    @classmethod
    def for_venue(cls, info) -> type[HostedEmsVenue]:
        attributes = {"code": info.code, "upstream_id": info.upstream_id, "ccxt_id": info.ccxt_id}
        return type(f"HostedEmsVenue_{info.code}", (cls,), attributes)

    @classmethod
    def client_order_id_for(cls, client_order_id: str) -> str:
        return ""  # the hosted EMS formats it for its exchange and reports what it sent

    def __init__(self, *, account_key: str, credentials: object = None, sandbox: bool = False):
        self.account_key = account_key
        code, tag = split_exchange_id(account_key)
        separator = account_key[len(code)] if tag else ""
        self.exchange_id = f"{self.upstream_id}{separator}{tag}"

    # --- the Venue protocol -------------------------------------------------------------------

    def instruments(self) -> list[InstrumentSpec]:
        if not self.ccxt_id:
            return []
        return market_data_venue(self.ccxt_id).instruments()

    def book(self, symbol_id_exchange: str, depth: int) -> MarketBook:
        """The exchange's public book, read from it as ccxt knows it (the hosted EMS has none)."""
        return self._market_data().book(symbol_id_exchange, depth)

    def candles(self, symbol_id_exchange: str, timeframe: str, limit: int) -> list[Candle]:
        return self._market_data().candles(symbol_id_exchange, timeframe, limit)

    def _market_data(self):
        if not self.ccxt_id:
            raise Rejected(f"{self.upstream_id}: no public market data known for it.")
        return market_data_venue(self.ccxt_id)

    def submit(self, intent: OrderIntent) -> VenueOrder:
        body = {
            "exchange_id": self.exchange_id,
            "client_order_id": intent.client_order_id,
            **self._symbol(intent.symbol_id_exchange),
            "amount_order": intent.amount,
            "price": intent.price,
            "side": intent.side,
            "order_type": "LIMIT",
            "time_in_force": intent.time_in_force,
            "exec_inst": ["MAKER_OR_CANCEL"] if intent.post_only else [],
        }
        if intent.expire_time is not None:
            body["expire_time"] = _time(intent.expire_time)
        return self._report(self._request("POST", "/v1/orders", body=body))

    def cancel(self, ref: OrderRef) -> VenueOrder:
        body = {"exchange_id": self.exchange_id}
        if ref.client_order_id:
            body["client_order_id"] = ref.client_order_id
        if ref.exchange_order_id:
            body["exchange_order_id"] = ref.exchange_order_id
        return self._report(self._request("POST", "/v1/orders/cancel", body=body))

    def cancel_all(self) -> list[VenueOrder]:
        # Answered with a message; the cancellations show in the reports the sync reads.
        self._request("POST", "/v1/orders/cancel/all", body={"exchange_id": self.exchange_id})
        return []

    def lookup(self, client_order_id: str, symbol_id_exchange: str) -> VenueOrder | None:
        path = f"/v1/orders/status/{quote(client_order_id, safe='')}"
        answer = self._request("GET", path, missing_ok=True)
        return None if answer is None else self._report(answer)

    def lookup_by_exchange_id(
        self, exchange_order_id: str, symbol_id_exchange: str
    ) -> VenueOrder | None:
        """Always None: the hosted EMS finds an order only by our client order id
        (GET /v1/orders/status/{client_order_id}); it has no lookup by the exchange's id, and its
        open list names only the orders it placed. Nothing here needs one: its fills arrive
        inside the reports of orders it knows, never as trades naming an unknown order."""
        return None

    def open_orders(self) -> list[VenueOrder]:
        answer = self._request("GET", "/v1/orders", params={"exchange_id": self.exchange_id})
        return [self._report(item) for item in answer or [] if isinstance(item, dict)]

    def fills_since(self, cursor: str | None) -> tuple[list[VenueFill], str | None]:
        return [], cursor  # fills come inside the execution reports

    def balances(self) -> list[VenueBalance]:
        answer = self._request("GET", "/v1/balances", params={"exchange_id": self.exchange_id})
        balances = []
        for snapshot in answer or []:
            if snapshot.get("exchange_id") not in (self.exchange_id, None):
                continue
            for item in snapshot.get("data") or []:
                balance = _dec(item.get("balance"))
                available = _dec(item.get("available"), balance)
                balances.append(
                    VenueBalance(
                        asset=str(item.get("asset_id_exchange") or item.get("id") or ""),
                        balance=balance,
                        available=available,
                        locked=_dec(item.get("locked"), balance - available),
                        rate_usd=_dec(item.get("rate_usd"), None),
                        asset_common=str(item.get("asset_id_coinapi") or ""),
                    )
                )
        return balances

    def key_check(self) -> KeyCheck:
        try:
            self.balances()
        except VenueError as problem:
            return KeyCheck(ok=False, message=problem.message)
        return KeyCheck(ok=True, message="The hosted EMS answers for this account.")

    # --- HTTP ---------------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        body: dict | None = None,
        params: dict | None = None,
        missing_ok: bool = False,
    ):
        base = settings.EMSWEB_HOSTED_EMS_URL.rstrip("/")
        if not base:
            raise Rejected("The hosted EMS is not configured (EMSWEB_HOSTED_EMS_URL).")
        headers = {"Accept": "application/json"}
        if settings.EMSWEB_HOSTED_EMS_KEY:
            headers["X-CoinAPI-Key"] = settings.EMSWEB_HOSTED_EMS_KEY
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = simplejson.dumps(body, use_decimal=True)
        try:
            response = _session().request(
                method,
                base + path,
                params=params,
                data=data,
                headers=headers,
                timeout=settings.EMSWEB_HOSTED_EMS_TIMEOUT,
            )
        except requests.RequestException as error:
            if never_sent(error):
                raise Unreachable("The hosted EMS is unreachable.") from None
            raise OutcomeUnknown(f"The hosted EMS did not answer: {type(error).__name__}") from None
        return self._answer(response, missing_ok=missing_ok)

    def _answer(self, response: requests.Response, *, missing_ok: bool):
        status = response.status_code
        try:
            answer = simplejson.loads(response.text, use_decimal=True) if response.text else None
        except ValueError:
            answer = None
        if status == 200:
            if answer is None and response.text:
                raise OutcomeUnknown("The hosted EMS answered with something that is not JSON.")
            return answer
        message = _message(answer) or f"HTTP {status}"
        if status == 404 and missing_ok:
            return None
        if status == 490:
            raise Unreachable(f"The hosted EMS cannot reach the exchange: {message}")
        if status == 504 or status >= 500 or status in (408, 429):
            raise OutcomeUnknown(f"The hosted EMS: {message}")
        if status in (401, 403):
            # The desk's key for the hosted EMS (EMSWEB_HOSTED_EMS_KEY): a person must look.
            raise KeyRefused(
                f"The hosted EMS refused the key: {message}", account_key=self.account_key
            )
        if 400 <= status < 500:
            raise Rejected(f"The hosted EMS refused: {message}")
        raise OutcomeUnknown(f"The hosted EMS answered HTTP {status}")

    # --- mapping ------------------------------------------------------------------------------

    def _symbol(self, symbol_id_exchange: str) -> dict:
        """The contract's symbol id where the market is known, which the hosted EMS resolves."""
        if self.ccxt_id:
            try:
                assets = market_data_venue(self.ccxt_id).spot_assets(symbol_id_exchange)
            except Exception:  # noqa: BLE001 - fall back to the exchange's symbol
                assets = None
            if assets:
                base, quote_ = assets
                return {"symbol_id_coinapi": f"{self.upstream_id}_SPOT_{base}_{quote_}"}
        return {"symbol_id_exchange": symbol_id_exchange}

    def _report(self, item: dict) -> VenueOrder:
        if not isinstance(item, dict) or not item.get("client_order_id"):
            raise OutcomeUnknown("The hosted EMS answered without an execution report.")
        status = str(item.get("status") or "")
        filled = _dec(item.get("amount_filled"))
        if status in OPEN_STATUSES:
            venue_status = OrdStatus.PARTIALLY_FILLED if filled > 0 else OrdStatus.NEW
        elif status in (OrdStatus.FILLED, OrdStatus.CANCELED, OrdStatus.REJECTED):
            venue_status = OrdStatus(status)
        else:
            raise OutcomeUnknown(f"The hosted EMS reported an unknown status {status!r}.")
        client_order_id = str(item["client_order_id"])
        side = str(item.get("side") or "")
        if side not in OrdSide.values:
            raise OutcomeUnknown(f"The hosted EMS reported {client_order_id} without a side.")
        time_in_force = str(item.get("time_in_force") or TimeInForce.GOOD_TILL_CANCEL)
        return VenueOrder(
            client_order_id=client_order_id,
            exchange_order_id=str(item.get("exchange_order_id") or ""),
            symbol_id_exchange=str(item.get("symbol_id_exchange") or ""),
            status=venue_status,
            side=OrdSide(side),
            amount=_dec(item.get("amount_order")),
            price=_dec(item.get("price")),
            amount_filled=filled,
            avg_px=_dec(item.get("avg_px")),
            client_order_id_format_exchange=str(item.get("client_order_id_format_exchange") or ""),
            time_in_force=TimeInForce(time_in_force)
            if time_in_force in TimeInForce.values
            else TimeInForce.GOOD_TILL_CANCEL,
            message=str(item.get("error_message") or ""),
            fills=_fills(client_order_id, str(item.get("exchange_order_id") or ""), item),
        )


def _fills(client_order_id: str, exchange_order_id: str, item: dict) -> tuple[VenueFill, ...]:
    """The report's fills, which carry no trade id: one is derived from each fill's content
    and its place among identical ones, so the same fill read again is the same fill."""
    seen: Counter[str] = Counter()
    fills = []
    for fill in item.get("fills") or []:
        key = f"{fill.get('time')}|{fill.get('price')}|{fill.get('amount')}"
        seen[key] += 1
        fills.append(
            VenueFill(
                trade_id=f"ems:{client_order_id}:{key}:{seen[key]}",
                client_order_id=client_order_id,
                exchange_order_id=exchange_order_id,
                time=_parse_time(fill.get("time")),
                price=_dec(fill.get("price")),
                amount=_dec(fill.get("amount")),
            )
        )
    return tuple(fills)


def _dec(value: object, default: Decimal | None = Decimal(0)) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return default
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except ArithmeticError:
        return default
    return number if number.is_finite() else default


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def _parse_time(text: object) -> datetime:
    value = str(text or "").rstrip("Z")
    if "." in value:
        head, fraction = value.split(".", 1)
        value = f"{head}.{fraction[:6]}"
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        return datetime.now(tz=UTC)


def _message(answer: object) -> str:
    if not isinstance(answer, dict):
        return ""
    if answer.get("message"):
        return str(answer["message"])
    errors = answer.get("errors")
    if isinstance(errors, dict):
        return "; ".join(
            f"{field}: {', '.join(map(str, texts))}" for field, texts in errors.items()
        )
    return str(answer.get("title") or answer.get("error") or "")


def _session() -> requests.Session:
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
        session.trust_env = False
    return session
