"""One order over the WebSocket API (/v1/ws), and every update of it until it is done.

Connects with the key in X-CoinAPI-Key, prints the SERVER_INFO and the snapshots it is sent on
open, places a LIMIT order with ORDER_NEW_SINGLE_REQUEST, then prints each
ORDER_EXEC_REPORT_UPDATE of that order (with its seq) until the order is FILLED, CANCELED or
REJECTED. An order still open after --cancel-after seconds is canceled over the socket
(ORDER_CANCEL_SINGLE_REQUEST), so the run always ends. A MESSAGE_REJECT ends it too, exit 1.

    python examples/ws_order.py --base-url http://127.0.0.1:8000 --key ems_...

The defaults buy 0.01 BTC on the paper exchange at 60,000 USD, above its ~50,000 market, so the
order fills at once; `--price 40000` leaves it resting until the cancel. Needs `websockets` and
`simplejson` (which writes a Decimal as a JSON number, as the API wants amounts and prices); the
key may also come from EMSWEB_API_KEY.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from decimal import Decimal

import simplejson as json
from websockets.asyncio.client import connect

DONE = {"FILLED", "CANCELED", "REJECTED"}


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--key", default=os.environ.get("EMSWEB_API_KEY"))
    parser.add_argument("--exchange-id", default="PAPER/DEMO")
    parser.add_argument("--symbol", default="PAPER_SPOT_BTC_USD", help="symbol_id_coinapi")
    parser.add_argument("--side", default="BUY", choices=["BUY", "SELL"])
    parser.add_argument("--amount", default="0.01")
    parser.add_argument("--price", default="60000")
    parser.add_argument("--cancel-after", type=float, default=10.0, metavar="SECONDS")
    parser.add_argument("--cancel-on-disconnect", action="store_true",
                        help="send exec_inst CANCEL_ON_DISCONNECT")  # fmt: skip
    args = parser.parse_args()
    if not args.key:
        parser.error("give --key (or set EMSWEB_API_KEY)")
    return args


def ws_url(base_url: str) -> str:
    scheme, rest = base_url.rstrip("/").split("://", 1)
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest}/v1/ws"


def show(message: dict) -> None:
    kind = message.get("type")
    seq = f"seq={message['seq']}" if "seq" in message else "no seq"
    if kind == "ORDER_EXEC_REPORT_UPDATE":
        fills = ", ".join(f"{f['amount']} @ {f['price']}" for f in message["fills"]) or "none"
        filled = f"{message['amount_filled']}/{message['amount_order']}"
        print(f"{seq:>9}  {message['status']:<16} filled {filled}  fills: {fills}")
    elif kind.endswith("_SNAPSHOT"):
        print(f"{seq:>9}  {kind}  {message['exchange_id']}: {len(message['data'])} item(s)")
    elif kind == "SERVER_INFO":
        print(f"{seq:>9}  {kind}  {message['server_name']} {message['server_version']}")
    else:
        print(f"{seq:>9}  {json.dumps(message)}")


async def run(args: argparse.Namespace) -> int:
    client_order_id = f"ws-order-{uuid.uuid4().hex[:12]}"
    order = {
        "type": "ORDER_NEW_SINGLE_REQUEST",
        "exchange_id": args.exchange_id,
        "client_order_id": client_order_id,
        "symbol_id_coinapi": args.symbol,
        "amount_order": Decimal(args.amount),
        "price": Decimal(args.price),
        "side": args.side,
        "order_type": "LIMIT",
        "time_in_force": "GOOD_TILL_CANCEL",
        "exec_inst": ["CANCEL_ON_DISCONNECT"] if args.cancel_on_disconnect else [],
    }
    cancel = {
        "type": "ORDER_CANCEL_SINGLE_REQUEST",
        "exchange_id": args.exchange_id,
        "client_order_id": client_order_id,
    }
    headers = {"X-CoinAPI-Key": args.key}
    async with connect(ws_url(args.base_url), additional_headers=headers) as ws:
        placed_at = None
        canceling = False
        heartbeats = 0
        async for text in ws:
            message = json.loads(text, use_decimal=True)
            kind = message.get("type")
            ours = message.get("client_order_id") == client_order_id
            if kind == "SERVER_INFO":
                heartbeats += 1
            first_info = kind == "SERVER_INFO" and heartbeats == 1
            if first_info or kind.endswith("_SNAPSHOT") or kind == "MESSAGE_REJECT" or ours:
                show(message)  # not the heartbeats, nor other orders' updates
            if kind == "MESSAGE_REJECT":
                return 1
            # Placed once the account's snapshots are in: at the heartbeat that follows them.
            if placed_at is None and heartbeats == 2:
                print(f"{'':>9}  -> ORDER_NEW_SINGLE_REQUEST {client_order_id}")
                await ws.send(json.dumps(order, use_decimal=True))
                placed_at = time.monotonic()
            if ours and message["status"] in DONE:
                print(f"done: {message['status']}")
                return 0
            if placed_at and not canceling and time.monotonic() - placed_at > args.cancel_after:
                canceling = True
                print(f"{'':>9}  -> ORDER_CANCEL_SINGLE_REQUEST {client_order_id}")
                await ws.send(json.dumps(cancel))
    print("the server closed the connection")
    return 1


if __name__ == "__main__":
    sys.exit(asyncio.run(run(arguments())))
