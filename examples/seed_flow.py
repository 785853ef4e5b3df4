"""The seed page's flow (the hosted EMS quick-start), replayed against a running emsweb.

In the page's order: list the exchanges; link PAPER/JOHN (and show that BITMEX/JOHN is refused,
with the reason); list the accounts; the balances; a resting SELL of USD for JPY; its status;
the open orders; a resting BUY of OXT; cancel all on PAPER/JOHN; then wait until the BUY is
CANCELED, by way of PENDING_CANCEL. The paper exchange stands in for KRAKEN. Every request and
answer is printed; the exit code is 1 when an answer is not what the contract says.

    python examples/seed_flow.py --base-url http://127.0.0.1:8000 --key ems_...

Needs only `requests` and the standard library. The key may also come from EMSWEB_API_KEY.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time

import requests

ACCOUNT = "PAPER/JOHN"
CLOSED_VENUE_ACCOUNT = "BITMEX/JOHN"
SAMPLE_KEYS = [
    {"key": "PublicApiKey", "value": "73034021-THIS-IS-SAMPLE-PUBLIC-KEY-FROM-BITMEX"},
    {"key": "PrivateApiKey", "value": "73034021-THIS-IS-SAMPLE-PRIVATE-KEY-FROM-BITMEX"},
]
SELL_SYMBOL = "PAPER_SPOT_USD_JPY"
BUY_SYMBOL = "PAPER_SPOT_OXT_USD"
BUY_PRICE = 0.1  # below the ~0.11 market, so that a MAKER_OR_CANCEL BUY rests
REPORT_KEYS = [
    "type", "id", "client_order_id_format_exchange", "exchange_order_id", "amount_open",
    "amount_filled", "status", "status_history", "error_message", "fills", "exchange_id",
    "client_order_id", "symbol_id_exchange", "symbol_id_coinapi", "amount_order", "price",
    "avg_px", "side", "order_type", "time_in_force", "expire_time", "exec_inst",
]  # fmt: skip
VALIDATION_ERROR_KEYS = {"type", "title", "status", "traceId", "errors"}
CANCEL_ALL_KEYS = {"type", "exchange_id", "message"}
TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z$")
RESTING = {"ROUTED", "NEW"}
WAIT_SECONDS = 30


class ContractBroken(Exception):
    """An answer that is not what the contract says."""


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise ContractBroken(message)


def pretty(data) -> str:
    return json.dumps(data, indent=4, ensure_ascii=False)


class Ems:
    """The EMS REST API at `base_url`, every exchange printed unless asked not to."""

    def __init__(self, base_url: str, key: str):
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers.update({"X-CoinAPI-Key": key, "Accept": "application/json"})

    def call(self, method: str, path: str, payload=None, params=None, quiet=False):
        url = self.base_url + path
        response = self.session.request(method, url, json=payload, params=params, timeout=30)
        if not quiet:
            print(f"\n{method} {response.request.url}")
            if payload is not None:
                print(pretty(payload))
            print(f"Response Code: {response.status_code}")
            print(pretty(answer(response)))
        return response


def answer(response):
    try:
        return response.json()
    except ValueError:
        return response.text


def body_of(response, status: int, kind: type):
    """The JSON body of a `status` answer, which must be a `kind`."""
    body = answer(response)
    where = f"{response.request.method} {response.url}"
    expect(response.status_code == status, f"{where}: {response.status_code}, not {status}")
    expect(isinstance(body, kind), f"{where}: the body is not a JSON {kind.__name__}")
    return body


def expect_report(report: dict, client_order_id: str, statuses: set[str]) -> None:
    """An ORDER_EXEC_REPORT_UPDATE for `client_order_id`, in one of `statuses`."""
    expect(list(report) == REPORT_KEYS, f"report keys {list(report)}")
    expect(report["type"] == "ORDER_EXEC_REPORT_UPDATE", f"report type {report['type']}")
    expect(report["id"] == report["client_order_id"] == client_order_id, "report ids")
    expect(report["status"] in statuses, f"status {report['status']}, not one of {statuses}")
    for pair in report["status_history"]:
        expect(len(pair) == 2 and TIME.match(pair[1]) is not None, f"status_history {pair}")
    amount_left = report["amount_order"] - report["amount_filled"]
    expect(abs(report["amount_open"] - amount_left) < 1e-9, "amount_open")


# --- the steps, in the seed page's order -------------------------------------------------------


def check_available_exchanges(ems: Ems) -> None:
    exchanges = body_of(ems.call("GET", "/v1/exchanges"), 200, list)
    for exchange in exchanges:
        expect(
            set(exchange) == {"exchange_id", "location_id", "required_parameters"},
            f"exchange keys {sorted(exchange)}",
        )
    names = {exchange["exchange_id"] for exchange in exchanges}
    expect({"PAPER", "BITMEX"} <= names, f"PAPER and BITMEX listed: {sorted(names)}")


def connect_accounts(ems: Ems) -> str:
    """Link PAPER/JOHN; BITMEX/JOHN is refused. Returns the refusal's reason."""
    linked = ems.call("POST", "/v1/accounts", {"exchange_id": ACCOUNT, "parameters": []})
    expect(body_of(linked, 200, dict)["exchange_id"] == ACCOUNT, "the linked account's id")
    payload = {"exchange_id": CLOSED_VENUE_ACCOUNT, "parameters": SAMPLE_KEYS}
    refusal = body_of(ems.call("POST", "/v1/accounts", payload), 400, dict)
    expect(set(refusal) == VALIDATION_ERROR_KEYS, f"ValidationError keys {sorted(refusal)}")
    expect("exchange_id" in refusal["errors"], "the refusal names exchange_id")
    reason = refusal["errors"]["exchange_id"][0]
    print(f"\n{CLOSED_VENUE_ACCOUNT} refused: {reason}")
    return reason


def list_connected_accounts(ems: Ems) -> None:
    accounts = body_of(ems.call("GET", "/v1/accounts"), 200, list)
    expect(ACCOUNT in [account["exchange_id"] for account in accounts], f"{ACCOUNT} listed")
    listed = {account["exchange_id"] for account in accounts}
    expect(CLOSED_VENUE_ACCOUNT not in listed, f"{CLOSED_VENUE_ACCOUNT} not listed")


def check_balance(ems: Ems) -> dict[str, float]:
    """The balances of every account; returns PAPER/JOHN's USD rates by asset."""
    wait_for_first_sync(ems)
    snapshots = body_of(ems.call("GET", "/v1/balances"), 200, list)
    for snapshot in snapshots:
        expect(snapshot["type"] == "BALANCE_SNAPSHOT", f"balance type {snapshot['type']}")
    ours = next((item for item in snapshots if item["exchange_id"] == ACCOUNT), None)
    expect(ours is not None, f"a BALANCE_SNAPSHOT for {ACCOUNT}")
    return {item["asset_id_exchange"]: item["rate_usd"] for item in ours["data"]}


def wait_for_first_sync(ems: Ems) -> None:
    """Linking queues the account's first sync; its balances arrive a moment later."""

    def synced():
        response = ems.call("GET", "/v1/balances", params={"exchange_id": ACCOUNT}, quiet=True)
        snapshots = body_of(response, 200, list)
        return snapshots and snapshots[0]["data"]

    poll(synced, f"the first balances of {ACCOUNT}")


def submit_order(ems: Ems, order: dict) -> dict:
    report = body_of(ems.call("POST", "/v1/orders", order), 200, dict)
    expect_report(report, order["client_order_id"], RESTING)
    return report


def verify_order_status(ems: Ems, client_order_id: str, statuses: set[str]) -> dict:
    """Wait until the order is in one of `statuses`, then show its report."""
    path = f"/v1/orders/status/{client_order_id}"

    def reached():
        report = body_of(ems.call("GET", path, quiet=True), 200, dict)
        return report["status"] in statuses

    poll(reached, f"{client_order_id} to be {' or '.join(sorted(statuses))}")
    report = body_of(ems.call("GET", path), 200, dict)
    expect_report(report, client_order_id, statuses)
    return report


def check_open_orders(ems: Ems, *client_order_ids: str) -> None:
    reports = body_of(ems.call("GET", "/v1/orders"), 200, list)
    listed = {report["client_order_id"] for report in reports}
    for client_order_id in client_order_ids:
        expect(client_order_id in listed, f"{client_order_id} among the open orders")


def cancel_all(ems: Ems) -> None:
    # The seed page's own body, stray space in the key included: the API accepts it.
    response = ems.call("POST", "/v1/orders/cancel/all", {"exchange_id ": ACCOUNT})
    result = body_of(response, 200, dict)
    expect(set(result) == CANCEL_ALL_KEYS, f"cancel-all keys {sorted(result)}")
    expect(result["type"] == "MESSAGE", f"cancel-all type {result['type']}")
    expect(result["exchange_id"] == ACCOUNT, "cancel-all exchange_id")


def check_not_open(ems: Ems, *client_order_ids: str) -> None:
    """A closed order is no longer listed among the open orders."""
    response = ems.call("GET", "/v1/orders", params={"exchange_id": ACCOUNT})
    listed = {report["client_order_id"] for report in body_of(response, 200, list)}
    for client_order_id in client_order_ids:
        expect(client_order_id not in listed, f"{client_order_id} still among the open orders")


def check_canceled(ems: Ems, client_order_id: str) -> dict:
    report = verify_order_status(ems, client_order_id, {"CANCELED"})
    statuses = [status for status, _ in report["status_history"]]
    expect("PENDING_CANCEL" in statuses, f"PENDING_CANCEL in the status history: {statuses}")
    return report


def poll(predicate, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not predicate():
        expect(time.monotonic() < deadline, f"timed out after {WAIT_SECONDS}s waiting for {what}")
        time.sleep(0.5)


# --- the orders --------------------------------------------------------------------------------


def resting_sell_price(rates: dict[str, float]) -> float:
    """USD/JPY 2% above the market (read from JPY's USD rate), on the 0.001 tick."""
    market = 1 / rates["JPY"] if rates.get("JPY") else 150
    return round(market * 1.02, 3)


def resting_buy_price(rates: dict[str, float]) -> float:
    """The seed's 0.1, unless the OXT market has fallen below it: then 10% under the market."""
    market = rates.get("OXT") or 0.11
    return BUY_PRICE if market > BUY_PRICE * 1.01 else round(market * 0.9, 5)


def order(client_order_id: str, symbol: str, side: str, amount: float, price: float) -> dict:
    return {
        "exchange_id": ACCOUNT,
        "client_order_id": client_order_id,
        "symbol_id_coinapi": symbol,
        "amount_order": amount,
        "price": price,
        "side": side,
        "order_type": "LIMIT",
        "time_in_force": "GOOD_TILL_CANCEL",
        "exec_inst": ["MAKER_OR_CANCEL"],
    }


# --- main --------------------------------------------------------------------------------------


def run(ems: Ems) -> list[str]:
    """The flow; returns one summary line per step."""
    run_id = time.strftime("%Y%m%d-%H%M%S")
    sell_id = f"YOUR-UNIQUE-IDENTIFIER-FOR-ORDER-001-{run_id}"
    buy_id = f"YOUR-UNIQUE-IDENTIFIER-FOR-ORDER-007-{run_id}"
    summary = []

    def step(title: str) -> None:
        print(f"\n===== {title} " + "=" * max(0, 80 - len(title)))

    step("Check available exchanges")
    check_available_exchanges(ems)
    summary.append("exchanges listed, PAPER and BITMEX among them")

    step("Connect your exchanges")
    reason = connect_accounts(ems)
    summary.append(f"{ACCOUNT} linked; {CLOSED_VENUE_ACCOUNT} refused (400): {reason}")

    step("Get the list of connected exchanges")
    list_connected_accounts(ems)
    summary.append(f"{ACCOUNT} listed")

    step("Check balance")
    rates = check_balance(ems)
    summary.append(f"BALANCE_SNAPSHOT for {ACCOUNT}")

    step("Submit order (SELL)")
    sell = order(sell_id, SELL_SYMBOL, "SELL", 10, resting_sell_price(rates))
    report = submit_order(ems, sell)
    summary.append(f"SELL 10 USD @ {sell['price']} JPY: 200 {report['status']}")

    step("Verify order status")
    report = verify_order_status(ems, sell_id, {"NEW"})
    summary.append(f"SELL status {report['status']}")

    step("Check all open orders")
    check_open_orders(ems, sell_id)
    summary.append("SELL among the open orders")

    step("Submit order (BUY)")
    buy = order(buy_id, BUY_SYMBOL, "BUY", 100, resting_buy_price(rates))
    report = submit_order(ems, buy)
    summary.append(f"BUY 100 OXT @ {buy['price']} USD: 200 {report['status']}")

    step("Cancelling all open orders")
    cancel_all(ems)
    summary.append(f"cancel all on {ACCOUNT}: 200")

    step("The BUY's report after the cancel")
    report = check_canceled(ems, buy_id)
    history = " -> ".join(status for status, _ in report["status_history"])
    summary.append(f"BUY {report['status']}: {history}")
    report = check_canceled(ems, sell_id)
    summary.append(f"SELL {report['status']} too")

    step("Closed orders leave the open orders")
    check_not_open(ems, sell_id, buy_id)
    summary.append("neither order among the open orders any more")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--key", default=os.environ.get("EMSWEB_API_KEY"))
    arguments = parser.parse_args(argv)
    if not arguments.key:
        parser.error("give --key or set EMSWEB_API_KEY (manage.py create_api_key USERNAME)")
    try:
        summary = run(Ems(arguments.base_url, arguments.key))
    except ContractBroken as broken:
        print(f"\nFAILED: {broken}")
        return 1
    except requests.RequestException as problem:
        print(f"\nFAILED: could not reach {arguments.base_url}: {problem}")
        return 1
    print("\n===== Summary " + "=" * 72)
    print("\n".join(f"ok  {line}" for line in summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
