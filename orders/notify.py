"""Tell a waiting API request that its order's routing settled, without polling the database.

The worker pushes to a per-order list once routing has an outcome; the request blocks on that
list for at most its timeout. A push that comes first is kept (briefly), so none is missed.
"""

from django.conf import settings

from emsweb.redis import redis_blocking_client, redis_client

KEEP_SECONDS = 120


def _key(order_id: int) -> str:
    return f"emsweb:routed:{order_id}"


def routing_settled(order_id: int) -> None:
    client = redis_client()
    with client.pipeline() as pipe:
        pipe.rpush(_key(order_id), 1)
        pipe.expire(_key(order_id), KEEP_SECONDS)
        pipe.execute()


def routing_wait(order_id: int, timeout: float | None = None) -> bool:
    """True once routing settled; False if `timeout` seconds passed first."""
    timeout = settings.EMSWEB_API_ROUTING_WAIT if timeout is None else timeout
    return redis_blocking_client().blpop([_key(order_id)], timeout=timeout) is not None
