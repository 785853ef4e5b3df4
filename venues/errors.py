"""How a venue call can fail, classified once.

The distinction that matters is whether the venue may have acted:
- `Rejected`: the venue definitely refused; nothing happened there.
- `Unreachable`: nothing was sent (connection refused, DNS); nothing happened there.
- `OutcomeUnknown`: the request may have reached the venue (timeout, dropped connection, 5xx,
  unparseable answer). The order may be live: never re-send, look it up.
"""


class VenueError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Rejected(VenueError):
    """The venue refused the request; `message` is its own words."""


class AlertingRejection(Rejected):
    """A refusal that needs a person, whatever the call was: the account's key, or its nonce.
    `alert_kind` names it; `account_key` is the account (its exchange_id) whose key it was.
    emsweb.metrics.count_venue_error raises the alert."""

    alert_kind = ""

    def __init__(self, message: str, *, account_key: str = ""):
        super().__init__(message)
        self.account_key = account_key


class KeyRefused(AlertingRejection):
    """The exchange refused the key: invalid, revoked, without the permission, or suspended."""

    alert_kind = "AUTH"


class NonceRefused(AlertingRejection):
    """The exchange refused the request's nonce: something else signs with this key."""

    alert_kind = "NONCE"


class Unreachable(VenueError):
    """The request was never delivered."""


class OutcomeUnknown(VenueError):
    """The request may or may not have been acted on."""


class DuplicateClientOrderId(OutcomeUnknown):
    """The venue already has an order with this client order id: it exists, look it up."""
