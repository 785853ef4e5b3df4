"""How /v1 answers an error: the contract's 400 MESSAGE_REJECT naming each field, or a 401."""

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest
from ninja.errors import AuthenticationError, HttpError, ValidationError

from . import wire

LOCATIONS = {"body", "query", "path", "header", "payload", "filters", "range", "cookie"}


def _field_name(location: tuple) -> str:
    names = [str(part) for part in location if part not in LOCATIONS and not isinstance(part, int)]
    return names[-1] if names else "$"


def field_errors(problems) -> dict[str, list[str]]:
    """Pydantic's (or ninja's) list of problems as field name -> messages, the way every door
    names a bad field: REST's 400 and the WebSocket's MESSAGE_REJECT alike."""
    errors: dict[str, list[str]] = {}
    for problem in problems:
        errors.setdefault(_field_name(tuple(problem.get("loc", ()))), []).append(problem["msg"])
    return errors


def invalid_input(request: HttpRequest, error: ValidationError):
    return wire.validation_error(field_errors(error.errors))


def unauthenticated(request: HttpRequest, error: AuthenticationError):
    return wire.json_response({"error": "Invalid or missing API key."}, status=401)


def body_too_large(request: HttpRequest, error: RequestDataTooBig):
    return wire.validation_error({"$": ["The request body is too large."]})


def http_error(request: HttpRequest, error: HttpError):
    if error.status_code == 400:
        return wire.validation_error({"$": [str(error)]})
    return wire.json_response({"error": str(error)}, status=error.status_code)


ERROR_HANDLERS = {
    ValidationError: invalid_input,
    AuthenticationError: unauthenticated,
    RequestDataTooBig: body_too_large,
    HttpError: http_error,
}
