from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView

from emsweb.api import api

urlpatterns = [
    path("", include("accounts.urls")),
    path("orders/", include("orders.urls")),
    path(
        "account/password/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "account/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("admin/", admin.site.urls),
    path("v1/", api.urls),
    # Browsers ask for /favicon.ico on pages that name no icon (the admin, the API docs). The
    # static URL is read per request: it names a hashed file once collectstatic has run.
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("favicon.svg"))),
]

handler404 = "emsweb.errors.not_found"
