from django.urls import path

from . import views

urlpatterns = [
    path("", views.overview, name="overview"),
    path("balances/", views.balances, name="balances"),
    path("balances/refresh/", views.balances_refresh, name="balances_refresh"),
    path("balances/tables/", views.balances_tables, name="balances_tables"),
    path("account/api-keys/", views.api_keys, name="api_keys"),
    path("account/api-keys/<int:pk>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    path("audit/", views.audit_log, name="audit_log"),
    path("account/sign-in/", views.SignInView.as_view(), name="login"),
    path("account/sign-out/", views.SignOutView.as_view(), name="logout"),
    path("account/2fa/enrol/", views.two_factor_enrol, name="two_factor_enrol"),
    path("account/2fa/verify/", views.two_factor_verify, name="two_factor_verify"),
]
