"""One order over emsweb's FIX gateway, with QuickFIX as a desk's OMS would use it.

Logs on with initiator.cfg (its SenderCompID, host and port replaced by the options), the API key
in the Logon's Password (554); sends a NewOrderSingle (LIMIT, GTC); prints every message the
gateway sends until the order is filled, canceled or rejected; an order still open after
--cancel-after seconds is canceled with an OrderCancelRequest. Exit code 0 when the order ended,
1 otherwise. Needs only the `quickfix` package (pip install quickfix==1.16.0).

    python examples/fix/fix_order.py --key ems_... --sender ems_XXXXXXXX
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import quickfix

HERE = Path(__file__).resolve().parent
FINAL_STATUSES = {"2": "FILLED", "4": "CANCELED", "8": "REJECTED"}
NAMES = {
    11: "ClOrdID", 14: "CumQty", 31: "LastPx", 32: "LastQty", 35: "MsgType", 37: "OrderID",
    39: "OrdStatus", 58: "Text", 150: "ExecType", 151: "LeavesQty", 198: "SecondaryOrderID",
}  # fmt: skip


def settings_text(
    config: Path, *, sender: str, target: str, host: str, port: int, store: Path
) -> str:
    """initiator.cfg with the options put in, and its relative paths made absolute."""
    replace = {
        "SenderCompID": sender, "TargetCompID": target, "SocketConnectHost": host,
        "SocketConnectPort": str(port), "FileStorePath": str(store / "store"),
        "FileLogPath": str(store / "log"),
    }  # fmt: skip
    lines = []
    for line in config.read_text().splitlines():
        name, equals, value = line.partition("=")
        if equals and name in replace:
            line = f"{name}={replace[name]}"
        elif equals and value.startswith("."):
            line = f"{name}={(config.parent / value).resolve()}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def timestamp() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y%m%d-%H:%M:%S.") + f"{now.microsecond // 1000:03d}"


def side_code(side: str) -> str:
    return "1" if side == "BUY" else "2"


def readable(message: quickfix.Message) -> str:
    pairs = re.findall(r"(\d+)=([^\x01]*)", message.toString())
    shown = [f"{NAMES[int(tag)]}={value}" for tag, value in pairs if int(tag) in NAMES]
    return " ".join(shown)


class Oms(quickfix.Application):
    def __init__(self, options: argparse.Namespace):
        super().__init__()
        self.options = options
        self.client_order_id = f"fix-example-{uuid.uuid4().hex[:12]}"
        self.session_id = None
        self.logged_on = threading.Event()
        self.ended = threading.Event()
        self.final_status = ""

    def onCreate(self, session_id):
        self.session_id = session_id

    def onLogon(self, session_id):
        print(f"logged on: {session_id.toString()}")
        self.logged_on.set()

    def onLogout(self, session_id):
        print("logged out")

    def toAdmin(self, message, session_id):
        if message.getHeader().getField(35) == "A":
            message.setField(quickfix.StringField(554, self.options.key))

    def fromAdmin(self, message, session_id):
        if message.getHeader().getField(35) in ("3", "5"):  # Reject, Logout
            print(f"<- {readable(message)}")

    def toApp(self, message, session_id):
        print(f"-> {readable(message)}")

    def fromApp(self, message, session_id):
        print(f"<- {readable(message)}")
        if message.getHeader().getField(35) == "8" and message.isSetField(39):
            status = message.getField(39)
            if status in FINAL_STATUSES:
                self.final_status = FINAL_STATUSES[status]
                self.ended.set()

    def send(self, msg_type: str, fields: dict[int, str]) -> None:
        message = quickfix.Message()
        message.getHeader().setField(quickfix.MsgType(msg_type))
        for tag, value in fields.items():
            message.setField(quickfix.StringField(tag, value))
        quickfix.Session.sendToTarget(message, self.session_id)

    def new_order(self) -> None:
        o = self.options
        self.send("D", {
            11: self.client_order_id, 100: o.exchange_id, 55: o.symbol, 54: side_code(o.side),
            60: timestamp(), 38: o.amount, 40: "2", 44: o.price, 59: "1",
        })  # fmt: skip

    def cancel(self) -> None:
        o = self.options
        self.send("F", {
            41: self.client_order_id, 11: f"{self.client_order_id}-cancel", 207: o.exchange_id,
            55: o.symbol, 54: side_code(o.side), 60: timestamp(), 38: o.amount,
        })  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--key",
        default=os.environ.get("EMSWEB_API_KEY"),
        required=not os.environ.get("EMSWEB_API_KEY"),
    )
    parser.add_argument(
        "--sender", help="the key's SenderCompID (default: its first 12 characters)"
    )
    parser.add_argument("--target", default="EMSWEB")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9878)
    parser.add_argument("--config", type=Path, default=HERE / "initiator.cfg")
    parser.add_argument("--exchange-id", default="PAPER/DEMO")
    parser.add_argument("--symbol", default="BTCUSD")
    parser.add_argument("--side", choices=["BUY", "SELL"], default="BUY")
    parser.add_argument("--amount", default="0.01")
    parser.add_argument("--price", default="60000", help="above the market: fills at once")
    parser.add_argument("--cancel-after", type=float, default=10.0)
    parser.add_argument("--timeout", type=float, default=30.0)
    options = parser.parse_args()
    sender = options.sender or options.key[:12]

    with tempfile.TemporaryDirectory(prefix="emsweb-fix-") as directory:
        path = Path(directory) / "initiator.cfg"
        text = settings_text(
            options.config, sender=sender, target=options.target, host=options.host,
            port=options.port, store=Path(directory),
        )  # fmt: skip
        path.write_text(text)
        settings = quickfix.SessionSettings(str(path))
        oms = Oms(options)
        store, log = quickfix.FileStoreFactory(settings), quickfix.FileLogFactory(settings)
        initiator = quickfix.SocketInitiator(oms, store, settings, log)
        initiator.start()
        try:
            if not oms.logged_on.wait(options.timeout):
                print("no logon: check the key, its CompIDs, host and port", file=sys.stderr)
                return 1
            oms.new_order()
            if not oms.ended.wait(options.cancel_after):
                oms.cancel()
            oms.ended.wait(options.timeout)
        finally:
            time.sleep(0.2)  # let the last report be printed before the Logout
            initiator.stop()
    print(f"order {oms.client_order_id}: {oms.final_status or 'still open'}")
    return 0 if oms.final_status else 1


if __name__ == "__main__":
    sys.exit(main())
