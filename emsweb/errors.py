"""Answers for bad requests that no view should have to think about."""

from django.http import HttpRequest, HttpResponse
from django.views import defaults

from emsweb.api import wire


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/v1/")


def _contains_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_contains_nul(key) or _contains_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_contains_nul(item) for item in value)
    return False


def _fields_with_nul(request: HttpRequest) -> list[str]:
    """The names of the inputs (path, query, form or JSON fields) that hold a NUL character."""
    fields = ["$"] if "\x00" in request.path else []
    fields += [name for name, values in request.GET.lists() if _contains_nul([name, *values])]
    if request.META.get("CONTENT_TYPE", "").startswith("application/json"):
        if b"\x00" in request.body or b"\\u0000" in request.body.lower():
            try:
                data = wire.loads(request.body)
            except Exception:  # noqa: BLE001 - malformed JSON: the view answers that
                return fields
            if isinstance(data, dict):
                fields += [
                    str(name) for name, value in data.items() if _contains_nul([name, value])
                ]
            elif _contains_nul(data):
                fields.append("$")
    else:
        fields += [name for name, values in request.POST.lists() if _contains_nul([name, *values])]
    return fields


class RejectNulMiddleware:
    """A NUL character is never valid input here, and PostgreSQL refuses to store one: answer
    400 naming the field before any view or query sees it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            fields = _fields_with_nul(request)
        except Exception:  # noqa: BLE001 - an unreadable request: the view reports it properly
            fields = []
        if not fields:
            return self.get_response(request)
        message = "Must not contain NUL characters."
        if _is_api(request):
            return wire.validation_error({field: [message] for field in fields})
        return HttpResponse(f"{', '.join(fields)}: {message}", status=400)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return wire.message_reject(404, "OTHER", f"No endpoint at {request.path}.")
    return defaults.page_not_found(request, exception)
