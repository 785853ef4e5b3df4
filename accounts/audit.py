"""The audit log: one function writes it, so every action is recorded the same way."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest

from .models import AuditEvent


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    # Behind a proxy, django-axes' ipware settings decide the client address the same way.
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    return (forwarded.split(",")[0].strip() or request.META.get("REMOTE_ADDR")) or None


def audit_record(
    *,
    action: str,
    actor: AbstractBaseUser | None = None,
    target: str = "",
    request: HttpRequest | None = None,
    **detail,
) -> AuditEvent:
    if actor is None and request is not None and request.user.is_authenticated:
        actor = request.user
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_name=getattr(actor, "username", "") or detail.pop("username", ""),
        action=action,
        target=target,
        detail={key: str(value) for key, value in detail.items()},
        ip=client_ip(request),
    )
