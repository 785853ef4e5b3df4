"""Access to the desk's pages: signed in, and with a second factor for anyone who may trade."""

from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest
from django.shortcuts import redirect
from django_otp.plugins.otp_totp.models import TOTPDevice

from .selectors import may_trade_anything


def needs_second_factor(request: HttpRequest) -> bool:
    return (
        settings.EMSWEB_REQUIRE_2FA
        and may_trade_anything(user=request.user)
        and not request.user.is_verified()
    )


def desk_view(view):
    """login_required, then the second factor where the desk's policy asks for one."""

    @login_required
    @wraps(view)
    def checked(request: HttpRequest, *args, **kwargs):
        if needs_second_factor(request):
            has_device = TOTPDevice.objects.filter(user=request.user, confirmed=True).exists()
            target = "two_factor_verify" if has_device else "two_factor_enrol"
            return redirect(
                f"{redirect(target).url}?{urlencode({'next': request.get_full_path()})}"
            )
        return view(request, *args, **kwargs)

    return checked
