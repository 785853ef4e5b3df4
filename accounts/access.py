"""Access to the desk's pages and the admin site: signed in, with a second factor for anyone who
may trade, and a second factor verified lately (step-up) for what changes keys, accounts, roles
and grants."""

from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device
from django_otp.plugins.otp_totp.models import TOTPDevice

from .audit import audit_record
from .models import AuditAction
from .selectors import may_trade_anything

SECOND_FACTOR_AT = "emsweb_second_factor_at"  # session key: when the last code was verified
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def needs_second_factor(request: HttpRequest) -> bool:
    return (
        settings.EMSWEB_REQUIRE_2FA
        and may_trade_anything(user=request.user)
        and not request.user.is_verified()
    )


def session_may_stream(*, user, session) -> bool:
    """The pages' stream, for a session: signed in, active, and past the second factor where
    desk_view would ask for one (the device the session verified, as django_otp reads it)."""
    if not user.is_authenticated or not user.is_active:
        return False
    if not (settings.EMSWEB_REQUIRE_2FA and may_trade_anything(user=user)):
        return True
    persistent_id = session.get(DEVICE_ID_SESSION_KEY)
    device = Device.from_persistent_id(persistent_id) if persistent_id else None
    return device is not None and device.user_id == user.pk


def second_factor_verified(request: HttpRequest) -> None:
    """Note that the user has just typed a valid code (sign-in or step-up)."""
    request.session[SECOND_FACTOR_AT] = timezone.now().timestamp()


def second_factor_fresh(request: HttpRequest) -> bool:
    verified_at = request.session.get(SECOND_FACTOR_AT)
    if verified_at is None:
        return False
    return timezone.now().timestamp() - verified_at <= settings.EMSWEB_STEP_UP_SECONDS


def _to_second_factor(request: HttpRequest, *, refused: str):
    """Send the user to type a code, then back; a refused change is audited."""
    if request.method not in SAFE_METHODS:
        audit_record(
            action=AuditAction.TWO_FACTOR, request=request, change=refused, path=request.path
        )
    has_device = TOTPDevice.objects.filter(user=request.user, confirmed=True).exists()
    target = "two_factor_verify" if has_device else "two_factor_enrol"
    return redirect(f"{redirect(target).url}?{urlencode({'next': request.get_full_path()})}")


def desk_view(view):
    """login_required, then the second factor where the desk's policy asks for one."""

    @login_required
    @wraps(view)
    def checked(request: HttpRequest, *args, **kwargs):
        if needs_second_factor(request):
            return _to_second_factor(request, refused="refused: no second factor")
        return view(request, *args, **kwargs)

    return checked


def _stale_for_change(request: HttpRequest) -> bool:
    return (
        request.method not in SAFE_METHODS
        and settings.EMSWEB_REQUIRE_2FA
        and may_trade_anything(user=request.user)
        and not second_factor_fresh(request)
    )


def step_up(view):
    """For a change to keys: where the desk asks traders for a second factor, one verified in
    the last EMSWEB_STEP_UP_SECONDS (5 minutes), else a fresh code first. Reads pass."""

    @wraps(view)
    def checked(request: HttpRequest, *args, **kwargs):
        if _stale_for_change(request):
            return _to_second_factor(request, refused="refused: step-up code needed")
        return view(request, *args, **kwargs)

    return checked


class AdminSecondFactorMiddleware:
    """The admin site under the desk's policy: a second factor to enter it, and a step-up for
    every change made in it (linking accounts, replacing keys, enabling trading, grants, roles)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view, args, kwargs):
        in_admin = request.path.startswith(reverse("admin:index"))
        if not in_admin or not request.user.is_authenticated:
            return None  # the admin's sign-in page passes: it is a sign-in
        if request.path == reverse("admin:logout"):
            return None
        if needs_second_factor(request):
            return _to_second_factor(request, refused="refused: no second factor")
        if _stale_for_change(request):
            return _to_second_factor(request, refused="refused: step-up code needed")
        return None


class RefusedChangeAuditMiddleware:
    """Every refused attempt to change something is in the audit log: a POST, PUT or DELETE
    answered 401, 403 or 404 (a cross-site form without its CSRF token, a viewer's cancel,
    another user's order or key asked for by id, an API call with a bad or read-only key).
    Reads are not recorded: refusing them changes nothing and they are the bulk of the noise."""

    REFUSALS = frozenset({401, 403, 404})

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        response = self.get_response(request)
        if request.method not in SAFE_METHODS and response.status_code in self.REFUSALS:
            user = getattr(request, "user", None)
            api_key = getattr(request, "auth", None)  # the API's key, once it was accepted
            if user is None or not user.is_authenticated:
                user = getattr(api_key, "user", None)
            audit_record(
                action=AuditAction.REFUSED,
                actor=user,
                request=request,
                target=f"{request.method} {request.path}"[:255],
                status=response.status_code,
                api_key=api_key,
            )
        return response
