"""The QuickFIX settings of one key's acceptor: its FIX 4.4 and FIXT 1.1 (FIX 5.0) sessions on
one port (the front hands connections to it over 127.0.0.1), with the published dictionaries.
QuickFIX 1.16 cannot bind an acceptor to one address (its socket_createAcceptor binds
INADDR_ANY): the port is open on every interface, so each session allows only connections from
127.0.0.1 (AllowedRemoteAddresses), the front's; one from elsewhere is closed at its Logon.

Sequence numbers and the sent messages are kept in a FileStore under EMSWEB_FIX_DIR, so they
survive a restart and a ResendRequest is answered from it; nothing resets them on logon, logout
or disconnect unless the client asks (ResetSeqNumFlag, 141=Y, on its Logon: the hosted EMS's own
client does, every time).
"""

from __future__ import annotations

from pathlib import Path

from accounts.models import ApiKey

SPEC = Path(__file__).resolve().parent / "spec"
BEGIN_STRINGS = ("FIX.4.4", "FIXT.1.1")
HEARTBEAT_SECONDS = 30
FRONT_ADDRESS = "127.0.0.1"  # where the front connects to each key's acceptor from


def acceptor_settings(key: ApiKey, *, port: int, directory: Path) -> str:
    """The settings file's text for `key`'s acceptor."""
    common = {
        "ConnectionType": "acceptor",
        "SocketAcceptPort": port,
        "SenderCompID": key.fix_target,  # ours: the client's TargetCompID
        "TargetCompID": key.fix_sender,
        "StartTime": "00:00:00",
        "EndTime": "00:00:00",
        "HeartBtInt": HEARTBEAT_SECONDS,
        "FileStorePath": directory / "store",
        "FileLogPath": directory / "log",
        "UseDataDictionary": "Y",
        "ValidateUserDefinedFields": "N",
        "AllowUnknownMsgFields": "Y",
        "ResetOnLogon": "N",
        "ResetOnLogout": "N",
        "ResetOnDisconnect": "N",
        "AllowedRemoteAddresses": FRONT_ADDRESS,
    }
    sessions = {
        "FIX.4.4": {"DataDictionary": SPEC / "FIX44.xml"},
        "FIXT.1.1": {
            "TransportDataDictionary": SPEC / "FIXT11.xml",
            "AppDataDictionary": SPEC / "FIX50.xml",
            "DefaultApplVerID": "FIX.5.0",
        },
    }
    lines = ["[DEFAULT]", *(f"{name}={value}" for name, value in common.items())]
    for begin_string in BEGIN_STRINGS:
        lines += ["", "[SESSION]", f"BeginString={begin_string}"]
        lines += [f"{name}={value}" for name, value in sessions[begin_string].items()]
    return "\n".join(lines) + "\n"
