"""TLS on the gateway's port with a client certificate required, as the hosted EMS authenticates:
a client with a certificate the configured CA signed logs on and is answered both ways; one
with no certificate, one signed by another CA, and one speaking plain FIX are closed. The
counterparty is Python's ssl: the PyPI build of QuickFIX has no SSL (README, "FIX")."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from fix.translate import timestamp
from tests.fix.conftest import GatewayProcess
from tests.fix.counterparty import TIMEOUT
from tests.fix.test_session import raw_logon

pytestmark = [pytest.mark.pipeline]


def certificate(name: str, *, issuer=None, ca: bool = False, server: bool = False):
    """A key and a certificate for `name`, signed by `issuer` ((key, certificate)) or itself."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    signer_key, signer = issuer or (key, None)
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(signer.subject if signer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if server:
        address = x509.IPAddress(ipaddress.ip_address("127.0.0.1"))
        builder = builder.add_extension(x509.SubjectAlternativeName([address]), critical=False)
    return key, builder.sign(signer_key, hashes.SHA256())


def write_pem(path, key, cert) -> str:
    path.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(path)


@pytest.fixture
def pki(tmp_path):
    """A CA; the gateway's certificate and a desk's, both signed by it; a stranger's, by another."""
    ca = certificate("emsweb test CA", ca=True)
    other_ca = certificate("another CA", ca=True)
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(ca[1].public_bytes(serialization.Encoding.PEM))
    return {
        "ca": str(ca_file),
        "server": write_pem(
            tmp_path / "server.pem", *certificate("127.0.0.1", issuer=ca, server=True)
        ),
        "desk": write_pem(tmp_path / "desk.pem", *certificate("desk OMS", issuer=ca)),
        "stranger": write_pem(tmp_path / "stranger.pem", *certificate("x", issuer=other_ca)),
    }  # fmt: skip


@pytest.fixture
def tls_gateway(pipeline, tmp_path, pki):
    process = GatewayProcess(
        tmp_path / "gateway",
        env={"EMSWEB_FIX_TLS_CERT": pki["server"], "EMSWEB_FIX_TLS_CLIENT_CA": pki["ca"]},
    )
    yield process
    process.stop()


def tls_connection(port: int, ca: str, client_pem: str | None) -> ssl.SSLSocket:
    context = ssl.create_default_context(cafile=ca)
    if client_pem:
        context.load_cert_chain(client_pem)
    plain = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    return context.wrap_socket(plain, server_hostname="127.0.0.1")


def answer(connection, message: bytes) -> bytes:
    """What the gateway sends back to `message` ("" when it closes or refuses the connection)."""
    try:
        connection.sendall(message)
        connection.settimeout(TIMEOUT)
        return connection.recv(4096)
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
        return b""


def heartbeat_asked(*, sender: str, seq: int, name: str) -> bytes:
    body = f"35=1\x0149={sender}\x0156=EMSWEB\x0134={seq}\x0152={timestamp()}\x01112={name}\x01"
    head = f"8=FIX.4.4\x019={len(body)}\x01"
    return f"{head}{body}10={sum((head + body).encode()) % 256:03d}\x01".encode()


def test_a_desk_with_a_certificate_of_the_ca_logs_on_over_tls(tls_gateway, trading_key, pki):
    api_key, key = trading_key
    with tls_connection(tls_gateway.port, pki["ca"], pki["desk"]) as connection:
        assert b"\x0135=A\x01" in answer(
            connection, raw_logon(sender=api_key.fix_sender, password=key)
        )
        heartbeat = answer(
            connection, heartbeat_asked(sender=api_key.fix_sender, seq=2, name="tls-1")
        )
        assert b"\x0135=0\x01" in heartbeat and b"\x01112=tls-1\x01" in heartbeat
    assert tls_gateway.alive()


@pytest.mark.parametrize("client", [None, "stranger"])
def test_a_client_without_a_certificate_of_the_ca_is_refused(tls_gateway, trading_key, pki, client):
    api_key, key = trading_key
    logon = raw_logon(sender=api_key.fix_sender, password=key)
    try:
        with tls_connection(tls_gateway.port, pki["ca"], client and pki[client]) as connection:
            assert answer(connection, logon) == b""
    except (ssl.SSLError, ConnectionResetError):
        pass  # refused during the handshake
    with socket.create_connection(("127.0.0.1", tls_gateway.port), timeout=TIMEOUT) as plain:
        assert answer(plain, logon) == b""  # plain FIX on the TLS port
    assert tls_gateway.alive()
