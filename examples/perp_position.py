"""A perpetual position through /v1: opened, seen, guarded by reduce-only, closed.

On PAPER/DEMO it buys 0.01 BTC of PAPER_PERP_BTC_USDT (an IOC above the market, so it fills),
waits until GET /v1/positions shows the position and /v1/ws sends its POSITION_UPDATE, sends a
reduce-only SELL of twice the position (which would flip it: refused with a 400), then closes
the position with a reduce-only SELL (exec_inst DO_NOT_INCREASE) and waits for the update that
says it is flat. Exit 1 when an answer is not what it should be.

    python examples/perp_position.py --base-url http://127.0.0.1:8000 --key ems_...

Needs `requests`, `websockets` and `simplejson`; the key may come from EMSWEB_API_KEY. Positions
reach /v1 with the account's next sync (every 2 s by default).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from decimal import Decimal

import requests
import simplejson as json
from websockets.sync.client import connect

SYMBOL = "PAPER_PERP_BTC_USDT"
WAIT = 20.0


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--key", default=os.environ.get("EMSWEB_API_KEY"))
    parser.add_argument("--exchange-id", default="PAPER/DEMO")
    parser.add_argument("--amount", default="0.01")
    parser.add_argument("--buy-price", default="60000", help="above the ~50,000 market")
    parser.add_argument("--sell-price", default="40000", help="below it")
    args = parser.parse_args()
    if not args.key:
        parser.error("give --key (or set EMSWEB_API_KEY)")
    return args


class Script:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.base = args.base_url.rstrip("/")
        self.headers = {"X-CoinAPI-Key": args.key}

    def order(self, side: str, amount: Decimal, price: Decimal, *, reduce_only: bool):
        body = {
            "exchange_id": self.args.exchange_id,
            "client_order_id": f"perp-{uuid.uuid4().hex[:12]}",
            "symbol_id_coinapi": SYMBOL,
            "amount_order": amount,
            "price": price,
            "side": side,
            "order_type": "LIMIT",
            "time_in_force": "IMMEDIATE_OR_CANCEL",
            **({"exec_inst": ["DO_NOT_INCREASE"]} if reduce_only else {}),
        }
        response = requests.post(
            f"{self.base}/v1/orders",
            data=json.dumps(body),
            headers={**self.headers, "Content-Type": "application/json"},
            timeout=30,
        )
        answer = json.loads(response.text, use_decimal=True)
        print(f"POST /v1/orders {side} {amount} @ {price}{' DNI' if reduce_only else ''}: "
              f"{response.status_code} {answer.get('status', answer)}")  # fmt: skip
        return response.status_code, answer

    def position(self) -> dict | None:
        response = requests.get(
            f"{self.base}/v1/positions",
            params={"exchange_id": self.args.exchange_id},
            headers=self.headers,
            timeout=10,
        )
        snapshot = json.loads(response.text, use_decimal=True)[0]
        found = [item for item in snapshot["data"] if item["symbol_id_coinapi"] == SYMBOL]
        return found[0] if found else None


def update_with(ws, quantity: Decimal) -> dict:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        message = json.loads(ws.recv(timeout=WAIT), use_decimal=True)
        if message.get("type") == "POSITION_UPDATE" and message["symbol_id_coinapi"] == SYMBOL:
            print(f"  POSITION_UPDATE seq={message['seq']} {message['side']} "
                  f"{message['quantity']} @ {message['avg_entry_price']}")  # fmt: skip
            if message["quantity"] == quantity:
                return message
    raise SystemExit(f"no POSITION_UPDATE with quantity {quantity} within {WAIT:.0f} s")


def main() -> int:
    args = arguments()
    script = Script(args)
    amount = Decimal(args.amount)
    url = script.base.replace("http", "ws", 1) + "/v1/ws"
    with connect(url, additional_headers=script.headers) as ws:
        # Above the market: an IOC BUY takes the best ask.
        status, opened = script.order("BUY", amount, Decimal(args.buy_price), reduce_only=False)
        if status != 200 or opened["status"] != "FILLED":
            return 1
        update_with(ws, amount)
        held = script.position()
        print(f"GET /v1/positions: {held and (held['side'], held['quantity'])}, "
              f"raw_data {held and held['raw_data']}")  # fmt: skip
        if held is None or held["quantity"] != amount:
            return 1
        low = Decimal(args.sell_price)
        status, _ = script.order("SELL", amount * 2, low, reduce_only=True)
        if status != 400:
            return 1
        status, closed = script.order("SELL", amount, low, reduce_only=True)
        if status != 200 or closed["status"] != "FILLED":
            return 1
        update_with(ws, Decimal(0))
    print("GET /v1/positions after closing:", script.position())
    return 0


if __name__ == "__main__":
    sys.exit(main())
