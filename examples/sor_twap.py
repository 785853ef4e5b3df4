"""A TWAP through the SOR API: start it with POST /v1/sor/add, watch it on /v1/ws, cancel it
halfway with POST /v1/sor/cancel/{id}, and print what the parent reports it filled.

    python examples/sor_twap.py --base-url http://127.0.0.1:8000 --key ems_...

The defaults buy 0.1 BTC on the paper exchange over 20 seconds in 5-second slices and cancel
after 10 seconds. Prints the parent's StatusChange, TradeRequest and TradeFill messages as they
come, then one last line: the parent's report as JSON. Needs `websockets` and `simplejson`; the
key may also come from EMSWEB_API_KEY.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import urllib.request

import simplejson as json
from websockets.asyncio.client import connect

SOR_MESSAGES = {"StatusChange", "TradeRequest", "TradeFill"}
FINISHED = {"Cancelled", "Completed", "Stopped"}


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--key", default=os.environ.get("EMSWEB_API_KEY"))
    parser.add_argument("--exchange-id", action="append", dest="exchanges")
    parser.add_argument("--symbol", default="BTCUSD")
    parser.add_argument("--side", default="BUY", choices=["BUY", "SELL"])
    parser.add_argument("--amount", default="0.1")
    parser.add_argument("--duration", default="20SEC")
    parser.add_argument("--interval", default="5SEC")
    parser.add_argument("--cancel-after", type=float, default=10.0, metavar="SECONDS")
    args = parser.parse_args()
    if not args.key:
        parser.error("give --key (or set EMSWEB_API_KEY)")
    args.exchanges = args.exchanges or ["PAPER/DEMO"]
    return args


def rest(args, method: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        args.base_url.rstrip("/") + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"X-CoinAPI-Key": args.key, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read(), use_decimal=True)


def ws_url(base_url: str) -> str:
    scheme, rest_of_url = base_url.rstrip("/").split("://", 1)
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest_of_url}/v1/ws"


async def run(args: argparse.Namespace) -> int:
    headers = {"X-CoinAPI-Key": args.key}
    async with connect(ws_url(args.base_url), additional_headers=headers) as ws:
        added = rest(
            args,
            "POST",
            "/v1/sor/add",
            {
                "Algorithm": "TWAP",
                "Exchanges": args.exchanges,
                "Parameters": {
                    "side": args.side,
                    "symbol": args.symbol,
                    "amount": args.amount,
                    "duration": args.duration,
                    "interval": args.interval,
                },
            },
        )
        parent_id = added["id"]
        print(f"-> /v1/sor/add: {json.dumps(added)}", flush=True)
        started = time.monotonic()
        canceled = False
        while True:
            try:
                text = await asyncio.wait_for(ws.recv(), timeout=1)
            except TimeoutError:
                text = None
            if text is not None:
                message = json.loads(text, use_decimal=True)
                if message.get("type") in SOR_MESSAGES and message.get("id") == parent_id:
                    print(json.dumps(message), flush=True)
                    if message["type"] == "StatusChange" and message["status"] in FINISHED:
                        break
            if not canceled and time.monotonic() - started > args.cancel_after:
                canceled = True
                print(f"-> /v1/sor/cancel/{parent_id}", flush=True)
                rest(args, "POST", f"/v1/sor/cancel/{parent_id}", {})
    print(json.dumps(rest(args, "GET", f"/v1/sor/requests/{parent_id}")), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(run(arguments())))
