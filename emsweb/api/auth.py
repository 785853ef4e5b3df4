"""API keys, accepted where the contract and common clients put them: the X-CoinAPI-Key header,
`Authorization: Bearer`, or the `apikey` query parameter."""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import APIKeyHeader, APIKeyQuery, HttpBearer

from accounts.keys import api_key_authenticate
from accounts.models import ApiKey

__all__ = ["API_KEY_AUTH", "api_key_authenticate", "api_key_presented"]


def api_key_presented(*, headers: dict[str, str], query: dict[str, str]) -> str | None:
    """The key as a WebSocket handshake carries it (headers named in lower case), looked for
    where the REST classes below look: the header, a bearer token, the query parameter."""
    if headers.get("x-coinapi-key"):
        return headers["x-coinapi-key"]
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return query.get("apikey") or None


class CoinApiKeyHeader(APIKeyHeader):
    param_name = "X-CoinAPI-Key"

    def authenticate(self, request: HttpRequest, key: str | None) -> ApiKey | None:
        return api_key_authenticate(key)


class ApiKeyQuery(APIKeyQuery):
    param_name = "apikey"

    def authenticate(self, request: HttpRequest, key: str | None) -> ApiKey | None:
        return api_key_authenticate(key)


class ApiKeyBearer(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        return api_key_authenticate(token)


API_KEY_AUTH = [CoinApiKeyHeader(), ApiKeyBearer(), ApiKeyQuery()]
