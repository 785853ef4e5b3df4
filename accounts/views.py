"""The account-side pages: overview, balances, API keys, audit log, sign-in and two-factor."""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseStopPolling
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import keys, pages
from .access import desk_view, second_factor_verified, step_up
from .audit import audit_record
from .forms import ApiKeyForm
from .models import ApiKey, AuditAction, AuditEvent, PortfolioSnapshot
from .selectors import accounts_tradable, accounts_visible, user_role
from .services import account_sync_queue, api_key_create


@desk_view
def overview(request):
    """The desk at a glance; an htmx poll (the page's fallback while its stream is down) gets
    the live figures alone."""
    context = pages.overview_context(user=request.user)
    if request.htmx:
        return render(request, "accounts/overview.html#live", context)
    context["may_trade"] = accounts_tradable(user=request.user).exists()
    snapshots = PortfolioSnapshot.objects.order_by("-at")[:720]
    context["chart"] = {
        "t": [int(s.at.timestamp()) for s in reversed(snapshots)],
        "v": [float(s.total_usd) for s in reversed(snapshots)],  # a chart, not money
    }
    return render(request, "accounts/overview.html", context)


@desk_view
def balances(request):
    return render(request, "accounts/balances.html", pages.balances_context(user=request.user))


@desk_view
@require_POST
def balances_refresh(request):
    """Queue a sync of every account, then poll until each has synced since."""
    requested = timezone.now().isoformat()
    for account in accounts_visible(user=request.user).filter(enabled=True):
        account_sync_queue(account=account)
    request.session["balances_refresh"] = requested
    context = pages.balances_context(user=request.user, refresh_requested=requested)
    return render(request, "accounts/balances.html#tables", context)


@desk_view
def balances_tables(request):
    context = pages.balances_context(
        user=request.user, refresh_requested=request.session.get("balances_refresh")
    )
    response = render(request, "accounts/balances.html#tables", context)
    if not context["refreshing"]:
        response.status_code = HttpResponseStopPolling.status_code
    return response


# --- API keys ---------------------------------------------------------------------------------


@desk_view
@step_up
def api_keys(request):
    created_key, status = None, 200
    form = ApiKeyForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        api_key, created_key = api_key_create(user=request.user, **form.cleaned_data)
        audit_record(
            action=AuditAction.API_KEY, request=request, target=api_key.prefix, change="created"
        )
    elif form.is_bound:
        for field, errors in form.errors.items():
            messages.error(request, f"{field}: {' '.join(errors)}")
        status = 400
    context = {"keys": ApiKey.objects.filter(user=request.user), "created_key": created_key}
    return render(request, "accounts/api_keys.html", context, status=status)


@desk_view
@require_POST
def api_key_revoke(request, pk: int):
    api_key = ApiKey.objects.filter(pk=pk, user=request.user, revoked_at__isnull=True).first()
    if api_key is None:  # someone else's key, or none: the same answer, and on the record
        audit_record(action=AuditAction.API_KEY, request=request, change=f"revoke {pk} refused")
        raise Http404
    keys.api_key_revoke(api_key=api_key)
    audit_record(
        action=AuditAction.API_KEY, request=request, target=api_key.prefix, change="revoked"
    )
    messages.info(request, f"Revoked {api_key.prefix}….")
    return redirect("api_keys")


# --- audit log --------------------------------------------------------------------------------


@desk_view
def audit_log(request):
    events = AuditEvent.objects.select_related("actor")
    action, actor = request.GET.get("action"), request.GET.get("actor")
    if action:
        events = events.filter(action=action)
    if actor:
        events = events.filter(actor_name=actor)
    before = request.GET.get("before")
    if before and before.isdigit():
        events = events.filter(id__lt=int(before))
    page = list(events.order_by("-id")[:100])
    context = {
        "events": page,
        "actions": AuditAction.choices,
        "action": action or "",
        "actor": actor or "",
        "next_before": page[-1].id if len(page) == 100 else None,
    }
    return render(request, "accounts/audit.html", context)


# --- sign-in ----------------------------------------------------------------------------------


class SignInView(auth_views.LoginView):
    template_name = "registration/login.html"

    def form_valid(self, form):
        response = super().form_valid(form)
        audit_record(action=AuditAction.SIGN_IN, request=self.request)
        return response

    def form_invalid(self, form):
        audit_record(
            action=AuditAction.SIGN_IN_FAILED,
            request=self.request,
            username=form.data.get("username", "")[:150],
        )
        return super().form_invalid(form)


class SignOutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            audit_record(action=AuditAction.SIGN_OUT, request=request)
        return super().post(request, *args, **kwargs)


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return settings.LOGIN_REDIRECT_URL


@login_required
def two_factor_enrol(request):
    """Show a QR code for an authenticator app; confirming one code turns the device on."""
    device = TOTPDevice.objects.filter(user=request.user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=request.user, name="authenticator", confirmed=False)
    if request.method == "POST":
        if device.verify_token(request.POST.get("token", "").strip()):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            second_factor_verified(request)
            audit_record(action=AuditAction.TWO_FACTOR, request=request, change="enrolled")
            return redirect(_next_url(request))
        messages.error(request, "That code did not match. Try the current one.")
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage)
    svg = io.BytesIO()
    image.save(svg)
    context = {
        "qr_svg": svg.getvalue().decode(),
        "next": _next_url(request),
        "role": user_role(user=request.user),
    }
    return render(request, "registration/two_factor_enrol.html", context)


@login_required
def two_factor_verify(request):
    if request.method == "POST":
        token = request.POST.get("token", "").strip()
        for device in TOTPDevice.objects.filter(user=request.user, confirmed=True):
            if device.verify_token(token):
                otp_login(request, device)
                second_factor_verified(request)
                return redirect(_next_url(request))
        audit_record(action=AuditAction.TWO_FACTOR, request=request, change="wrong code")
        messages.error(request, "That code did not match.")
    return render(request, "registration/two_factor_verify.html", {"next": _next_url(request)})
