"""Production's URLs, plus the API floor: a Django view that returns a constant JSON body."""

from django.http import HttpResponse
from django.urls import path

from emsweb.urls import handler404  # noqa: F401
from emsweb.urls import urlpatterns as production_urlpatterns

CONSTANT = b'{"type":"BENCH","status":"OK"}'


def constant(request):
    return HttpResponse(CONSTANT, content_type="application/json")


urlpatterns = [path("bench/constant", constant), *production_urlpatterns]
