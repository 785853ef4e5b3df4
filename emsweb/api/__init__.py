"""The /v1 API: wire-compatible with the hosted EMS Trading API (see README)."""

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from . import wire
from .auth import API_KEY_AUTH

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

LOCATIONS = {"body", "query", "path", "header", "payload", "filters", "range", "cookie"}


def _field_name(location: tuple) -> str:
    names = [str(part) for part in location if part not in LOCATIONS and not isinstance(part, int)]
    return names[-1] if names else "$"


@api.exception_handler(ValidationError)
def invalid_input(request: HttpRequest, error: ValidationError):
    errors: dict[str, list[str]] = {}
    for problem in error.errors:
        errors.setdefault(_field_name(tuple(problem.get("loc", ()))), []).append(problem["msg"])
    return wire.validation_error(errors)


@api.exception_handler(AuthenticationError)
def unauthenticated(request: HttpRequest, error: AuthenticationError):
    return wire.json_response({"error": "Invalid or missing API key."}, status=401)


@api.exception_handler(RequestDataTooBig)
def body_too_large(request: HttpRequest, error: RequestDataTooBig):
    return wire.validation_error({"$": ["The request body is too large."]})


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, error: HttpError):
    if error.status_code == 400:
        return wire.validation_error({"$": [str(error)]})
    return wire.json_response({"error": str(error)}, status=error.status_code)


def _add_routers() -> None:
    from accounts.api import router as accounts_router
    from orders.api import router as orders_router

    api.add_router("", accounts_router)
    api.add_router("", orders_router)


_add_routers()
