"""Exchange credentials at rest: one MultiFernet token per account.

`EMSWEB_FIELD_KEYS` lists Fernet keys newest first: the first encrypts, every one decrypts, and
`rotate_token` re-encrypts under the first. The keys live outside the database, so a dump alone
decrypts nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

MASK = "••••"


class Credentials(Mapping[str, str]):
    """Decrypted venue parameters. Its repr never shows a value, so a traceback cannot either."""

    def __init__(self, values: Mapping[str, str]):
        self._values = dict(values)

    def __getitem__(self, key: str) -> str:
        return self._values[key]

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Credentials({', '.join(sorted(self._values))})"

    __str__ = __repr__


class CredentialsUnreadable(Exception):
    """The token was written under a key that is no longer configured."""


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in settings.EMSWEB_FIELD_KEYS])


def encrypt(values: Mapping[str, str]) -> str:
    if not values:
        return ""
    return _fernet().encrypt(json.dumps(dict(values)).encode()).decode()


def decrypt(token: str) -> Credentials:
    if not token:
        return Credentials({})
    try:
        return Credentials(json.loads(_fernet().decrypt(token.encode())))
    except InvalidToken:
        raise CredentialsUnreadable("no configured field key decrypts these credentials") from None


def rotate_token(token: str) -> str:
    return _fernet().rotate(token.encode()).decode() if token else ""


def readable_by_newest_key(token: str) -> bool:
    """Whether the first configured key alone decrypts the token: once every row says so, the
    older keys can be removed from EMSWEB_FIELD_KEYS."""
    try:
        Fernet(settings.EMSWEB_FIELD_KEYS[0]).decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def mask(value: str) -> str:
    """`••••abcd`: the last four characters, if the value is long enough to spare them."""
    return MASK + (value[-4:] if len(value) >= 12 else "")


def hint(values: Mapping[str, str]) -> dict[str, str]:
    return {key: mask(value) for key, value in values.items()}
