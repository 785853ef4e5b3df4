from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

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
]

handler404 = "emsweb.errors.not_found"
