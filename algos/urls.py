from django.urls import path

from . import views

urlpatterns = [
    path("", views.algo_list, name="algo_list"),
    path("rows/", views.algo_rows, name="algo_rows"),
    path("new/", views.algo_new, name="algo_new"),
    path("<int:pk>/", views.algo_detail, name="algo_detail"),
    path("<int:pk>/chart.json", views.algo_chart, name="algo_chart"),
    path("<int:pk>/<str:action>/", views.algo_control, name="algo_control"),
]
