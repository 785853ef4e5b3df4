"""A worker whose broker re-delivers an unacknowledged message after one second: a task that
runs longer is handed to another pool process while the first still runs it."""

from tests.settings import *  # noqa: F403

CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 1,
    # Look for overdue messages every second rather than every 100 s (10 s x every 10th look).
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}
