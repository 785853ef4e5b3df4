from django.urls import path

from . import screen_views, views

urlpatterns = [
    path("ticket/", views.ticket, name="ticket"),
    path("ticket/check/", views.ticket_check_view, name="ticket_check"),
    path("ticket/submit/", views.ticket_submit, name="ticket_submit"),
    path("trade/", screen_views.trade, name="trade"),
    path("trade/live/", screen_views.trade_live, name="trade_live"),
    path("trade/cancel/<int:pk>/", screen_views.trade_cancel, name="trade_cancel"),
    path("blotter/", views.blotter, name="blotter"),
    path("blotter/rows/", views.blotter_rows, name="blotter_rows"),
    path("blotter/kill-switch/", views.kill_switch, name="kill_switch"),
    path("blotter/flatten/", views.flatten, name="flatten"),
    path("trade/leverage/", screen_views.trade_leverage, name="trade_leverage"),
    path("blotter/cancel-all/<int:account_pk>/", views.cancel_all, name="cancel_all"),
    path("<int:pk>/", views.order_detail, name="order_detail"),
    path("<int:pk>/outcome/", views.order_outcome, name="order_outcome"),
    path("<int:pk>/cancel/", views.cancel, name="order_cancel"),
    path("history/", views.history, name="history"),
    path("history.csv", views.history_csv, name="history_csv"),
]
