"""The API key a request presents, found with its user and desk role, and kept for a second.

Every /v1 request, WebSocket handshake and FIX logon asks here. What a lookup found is kept in
this process for KEEP_SECONDS, counted from before its read, so a script's requests in that
second skip the database: a key revoked, a user deactivated or a role changed holds for at most
that second more in any process, and not at all in the process that revoked the key through
`api_key_revoke` (the admin's save as well). The stream offers no faster way to tell the other
processes: it carries orders, balances, accounts and positions, and its hub finds a revoked
key the same way, by reading the keys again each second.

Kept by the key's prefix, which is stored and shown and no secret, with the key's SHA-256 to
compare in constant time; never the key itself.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from django.db import transaction
from django.db.models import Model, OuterRef, Subquery
from django.db.models.base import ModelState
from django.utils import timezone

from .models import ApiKey, DeskMember
from .selectors import user_role_remember
from .services import API_KEY_PREFIX, api_key_hash

KEEP_SECONDS = 1.0
MOST_KEPT = 10_000  # past this many keys, the lapsed are dropped
PREFIX_LENGTH = len(API_KEY_PREFIX) + 8  # api_key_create's prefix
# last_used_at is advisory: write it at most this often, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class _Found:
    key_hash: str
    api_key: ApiKey  # with its user; requests get copies
    role: str | None  # the user's DeskMember role, None without one
    read_at: float  # the cache's clock before the read


class KeyCache:
    """What lookups found lately, by key prefix, each for `keep_seconds` after its read began."""

    def __init__(self, *, keep_seconds: float = KEEP_SECONDS, clock: Callable[[], float]):
        self.keep_seconds = keep_seconds
        self.clock = clock
        self._found: dict[str, _Found] = {}

    def get(self, prefix: str, key_hash: str) -> _Found | None:
        found = self._found.get(prefix)
        if found is None or self.clock() - found.read_at >= self.keep_seconds:
            return None
        if not hmac.compare_digest(found.key_hash, key_hash):
            return None  # another key with the same prefix: the database knows
        return found

    def keep(self, prefix: str, found: _Found) -> None:
        if len(self._found) >= MOST_KEPT:
            now = self.clock()
            for kept_prefix, kept in list(self._found.items()):
                if now - kept.read_at >= self.keep_seconds:
                    self._found.pop(kept_prefix, None)
        self._found[prefix] = found

    def forget(self, *, key_id: int | None = None, user_id: int | None = None) -> None:
        """Drop the keys with this id, or of this user; both None: every key."""
        for prefix, found in list(self._found.items()):
            if (
                (key_id is None and user_id is None)
                or found.api_key.pk == key_id
                or found.api_key.user_id == user_id
            ):
                self._found.pop(prefix, None)


_cache = KeyCache(clock=time.monotonic)


def api_key_authenticate(key: str | None) -> ApiKey | None:
    """The usable key (not revoked, its user active) that `key` is, with its user, or None;
    its last use recorded (to the minute)."""
    if not key:
        return None
    key_hash = api_key_hash(key)
    prefix = key[:PREFIX_LENGTH]
    found = _cache.get(prefix, key_hash)
    if found is None:
        found = _read(key_hash)
        if found is None:
            return None
        _cache.keep(prefix, found)
    _record_use(found.api_key)
    return _copied(found)


def api_key_revoke(*, api_key: ApiKey) -> None:
    """Revoke the key: refused at once by this process, within KEEP_SECONDS by the others."""
    ApiKey.objects.filter(pk=api_key.pk).update(revoked_at=timezone.now())
    api_keys_changed(key_id=api_key.pk)


def api_keys_changed(*, key_id: int | None = None, user_id: int | None = None) -> None:
    """The key (or the user's keys; neither: any key) changed in the caller's transaction:
    looked up again from the next request, and again once the change commits, since a request
    reading meanwhile would keep what it read before."""
    api_keys_forget(key_id=key_id, user_id=user_id)
    transaction.on_commit(partial(api_keys_forget, key_id=key_id, user_id=user_id))


def api_keys_forget(*, key_id: int | None = None, user_id: int | None = None) -> None:
    """Look the key (or the user's keys; neither: every key) up again from the next request."""
    _cache.forget(key_id=key_id, user_id=user_id)


def _read(key_hash: str) -> _Found | None:
    read_at = _cache.clock()
    role = DeskMember.objects.filter(user=OuterRef("user_id")).values("role")[:1]
    api_key = (
        ApiKey.objects.select_related("user")
        .annotate(desk_role=Subquery(role))
        .filter(key_hash=key_hash, revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if api_key is None:
        return None
    return _Found(key_hash, api_key, api_key.desk_role, read_at)


def _copied(found: _Found) -> ApiKey:
    """A request's own key and user, so that nothing it sets on them reaches another."""
    api_key = _instance_copy(found.api_key)
    api_key.user = _instance_copy(found.api_key.user)
    user_role_remember(api_key.user, found.role)
    return api_key


def _instance_copy(instance: Model) -> Model:
    """The instance's field values in a new instance with a state of its own (no related object
    cached): what copy.copy gives, without its trip through pickling's machinery."""
    copied = object.__new__(type(instance))
    copied.__dict__.update(instance.__dict__)
    copied._state = ModelState()
    copied._state.db, copied._state.adding = instance._state.db, False
    return copied


def _record_use(api_key: ApiKey) -> None:
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
