from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView
from ninja import NinjaAPI

from accounts.api import router as accounts_router
from algos.api import router as sor_router
from emsweb.api import wire
from emsweb.api.auth import API_KEY_AUTH
from emsweb.api.errors import ERROR_HANDLERS
from orders.api import router as orders_router

# The /v1 API: wire-compatible with the hosted EMS Trading API (see README).
api = NinjaAPI(
    title="emsweb EMS Trading API",
    version="1",
    description=(
        "Wire-compatible with the EMS Trading API: the same paths, fields, enums and status "
        "codes. Authenticate with the X-CoinAPI-Key header, `Authorization: Bearer <key>` or "
        "the `apikey` query parameter; `manage.py create_api_key USERNAME` makes a key."
    ),
    urls_namespace="v1",
    auth=API_KEY_AUTH,
    parser=wire.DecimalParser(),
    renderer=wire.DecimalRenderer(),
)
for error, handler in ERROR_HANDLERS.items():
    api.add_exception_handler(error, handler)
api.add_router("", accounts_router)
api.add_router("", orders_router)
api.add_router("", sor_router)

urlpatterns = [
    path("", include("accounts.urls")),
    path("orders/", include("orders.urls")),
    path("risk/", include("risk.urls")),
    path("algos/", include("algos.urls")),
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
