"""API keys, accepted where the contract and common clients put them: the X-CoinAPI-Key header,
`Authorization: Bearer`, or the `apikey` query parameter."""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import APIKeyHeader, APIKeyQuery, HttpBearer

from accounts.models import ApiKey
from accounts.services import api_key_hash

# last_used_at is advisory: write it at most this often, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def api_key_authenticate(key: str | None) -> ApiKey | None:
    if not key:
        return None
    api_key = (
        ApiKey.objects.select_related("user")
        .filter(key_hash=api_key_hash(key), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if api_key is not None:
        now = timezone.now()
        if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    return api_key


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
