"""A real FIX counterparty for the gateway's tests: a QuickFIX initiator in this process, as a
desk's OMS would connect, keeping every message it receives."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import quickfix

from fix.config import SPEC
from tests.conftest import wait_for

TIMEOUT = 20
SOH = "\x01"


def fields_of(raw: str) -> dict[int, str]:
    fields: dict[int, str] = {}
    for pair in raw.split(SOH):
        tag, _, value = pair.partition("=")
        if tag.isdigit():
            fields.setdefault(int(tag), value)
    return fields


def initiator_settings(
    *,
    port: int,
    sender: str,
    target: str,
    begin_string: str,
    directory: Path,
    reset: bool,
    reconnect_interval: int = 1,
) -> str:
    dictionaries = (
        f"TransportDataDictionary={SPEC / 'FIXT11.xml'}\n"
        f"AppDataDictionary={SPEC / 'FIX50.xml'}\nDefaultApplVerID=FIX.5.0\n"
        if begin_string == "FIXT.1.1"
        else f"DataDictionary={SPEC / 'FIX44.xml'}\n"
    )
    flag = "Y" if reset else "N"
    return (
        "[DEFAULT]\nConnectionType=initiator\nSocketConnectHost=127.0.0.1\n"
        f"SocketConnectPort={port}\nReconnectInterval={reconnect_interval}\nHeartBtInt=5\n"
        "StartTime=00:00:00\nEndTime=00:00:00\n"
        f"FileStorePath={directory / 'store'}\nFileLogPath={directory / 'log'}\n"
        f"ResetOnLogon={flag}\nResetOnLogout={flag}\nResetOnDisconnect={flag}\n"
        "UseDataDictionary=Y\nValidateUserDefinedFields=N\n"
        f"\n[SESSION]\nBeginString={begin_string}\nSenderCompID={sender}\n"
        f"TargetCompID={target}\n{dictionaries}"
    )


class Counterparty(quickfix.Application):
    """The initiator's application: sends the key in the Logon's Password, keeps what arrives."""

    def __init__(self, key: str):
        super().__init__()
        self.key = key
        self.received: list[dict[int, str]] = []
        self.lock = threading.Lock()
        self.logged_on = threading.Event()
        self.session_id = None

    def onCreate(self, session_id):
        self.session_id = session_id

    def onLogon(self, session_id):
        self.logged_on.set()

    def onLogout(self, session_id):
        self.logged_on.clear()

    def toAdmin(self, message, session_id):
        if message.getHeader().getField(35) == "A":
            message.setField(quickfix.StringField(554, self.key))

    def fromAdmin(self, message, session_id):
        self._keep(message)

    def toApp(self, message, session_id):
        pass

    def fromApp(self, message, session_id):
        self._keep(message)

    def _keep(self, message) -> None:
        with self.lock:
            self.received.append(fields_of(message.toString()))

    def messages(self, msg_type: str, **match: str) -> list[dict[int, str]]:
        """Those received of `msg_type` whose fields match (tag given as `_<number>`)."""
        wanted = {int(name.lstrip("_")): value for name, value in match.items()}
        with self.lock:
            return [
                m
                for m in self.received
                if m.get(35) == msg_type and all(m.get(t) == v for t, v in wanted.items())
            ]

    def expect(self, msg_type: str, count: int = 1, **match: str) -> list[dict[int, str]]:
        return wait_for(
            lambda: (found := self.messages(msg_type, **match)) and len(found) >= count and found,
            timeout=TIMEOUT,
            what=f"{count} message(s) {msg_type} {match}",
        )


class Initiator:
    """A QuickFIX SocketInitiator for one session, started at once."""

    def __init__(
        self,
        *,
        port: int,
        key: str,
        sender: str,
        target: str = "EMSWEB",
        begin_string: str = "FIX.4.4",
        directory: Path,
        reset: bool = True,
        reconnect_interval: int = 1,
    ):
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "initiator.cfg"
        path.write_text(
            initiator_settings(
                port=port, sender=sender, target=target, begin_string=begin_string,
                directory=directory, reset=reset, reconnect_interval=reconnect_interval,
            )
        )  # fmt: skip
        self.begin_string = begin_string
        self.directory = directory
        self.application = Counterparty(key)
        self.settings = quickfix.SessionSettings(str(path))
        self.initiator = quickfix.SocketInitiator(
            self.application,
            quickfix.FileStoreFactory(self.settings),
            self.settings,
            quickfix.FileLogFactory(self.settings),
        )
        self.initiator.start()

    def wait_logged_on(self) -> None:
        if not self.application.logged_on.wait(TIMEOUT):
            raise AssertionError(f"the initiator did not log on; its events:\n{self.events()}")

    def events(self, last: int = 40) -> str:
        """The last lines of the engine's event log (connects, logons, disconnects)."""
        lines = []
        for path in sorted((self.directory / "log").glob("*.event.current.log")):
            lines += path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-last:])

    def send(self, msg_type: str, fields: dict[int, object]) -> None:
        message = quickfix.Message()
        header = message.getHeader()
        header.setField(quickfix.BeginString(self.begin_string))
        header.setField(quickfix.MsgType(msg_type))
        for tag, value in fields.items():
            message.setField(quickfix.StringField(tag, str(value)))
        if not quickfix.Session.sendToTarget(message, self.application.session_id):
            raise AssertionError(f"could not send {msg_type}")

    def stop(self) -> None:
        if self.initiator is not None:
            self.initiator.stop()

    def close(self) -> None:
        """Stop and drop the engine's objects: its sessions stay registered in QuickFIX (and
        would take the messages of a new initiator with the same CompIDs) until then. Not
        while another initiator of this process has the same CompIDs: they share the entry."""
        self.stop()
        self.initiator = None


def raw_connection(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
