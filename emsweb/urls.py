from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

from emsweb.api import api

urlpatterns = [
    # The dashboard comes with its own issue; until then the admin site is the way in.
    path("", RedirectView.as_view(pattern_name="admin:index"), name="home"),
    path("admin/", admin.site.urls),
    path("v1/", api.urls),
]
