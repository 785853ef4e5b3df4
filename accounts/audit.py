"""The audit log: one function writes it, so every action is recorded the same way."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest

from emsweb import sql

from .models import ApiKey, AuditEvent


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return client_address(
        forwarded_for=request.META.get("HTTP_X_FORWARDED_FOR", ""),
        peer=request.META.get("REMOTE_ADDR"),
    )


def client_address(*, forwarded_for: str, peer: str | None) -> str | None:
    """The client's address, for a request or a WebSocket handshake alike."""
    # Also the address django-axes locks out (AXES_CLIENT_IP_CALLABLE). Behind AXES_PROXY_COUNT
    # trusted proxies, the client is the X-Forwarded-For entry the outermost one appended: the
    # entries left of it are whatever the client chose to send.
    proxies = settings.AXES_IPWARE_PROXY_COUNT
    forwarded = [address.strip() for address in forwarded_for.split(",")]
    forwarded = [address for address in forwarded if address]
    if proxies and len(forwarded) >= proxies:
        return forwarded[-proxies]
    return peer or None


def axes_username(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """The username django-axes records and locks out (AXES_USERNAME_CALLABLE), cut to what a
    username can be: a longer one, sent to any sign-in form, was a 500 on PostgreSQL."""
    source = credentials or getattr(request, "data", request.POST)
    username = source.get("username")
    return username[:150] if isinstance(username, str) else username


def audit_record(
    *,
    action: str,
    actor: AbstractBaseUser | None = None,
    target: str = "",
    request: HttpRequest | None = None,
    ip: str | None = None,
    api_key: ApiKey | None = None,
    **detail,
) -> AuditEvent:
    """One entry of the log. The services pass who acted (the user, the API key if any, the
    address) explicitly; a view that records its own action may pass its request instead."""
    if actor is None and api_key is not None:
        actor = api_key.user
    if actor is None and request is not None and request.user.is_authenticated:
        actor = request.user
    if api_key is not None:
        detail["api_key"] = api_key.prefix
    event = AuditEvent(
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_name=getattr(actor, "username", "") or detail.pop("username", ""),
        action=action,
        target=target,
        detail={key: _shown(value) for key, value in detail.items()},
        ip=ip or client_ip(request),
    )
    # The INSERT that save() runs, built once: every order writes an entry (emsweb.sql).
    sql.insert(event)
    return event


def _shown(value: object) -> str:
    # A money field holds 18 places: 0.05, not 0.050000000000000000; 49000, not 4.9E+4.
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)
