from datetime import datetime
from decimal import Decimal
from itertools import count

from venues.base import OrderIntent, OrdSide, TimeInForce
from venues.paper.models import PaperBalance

ACCOUNT_KEY = "PAPER/TEST"
_client_order_ids = count(1)


def intent(
    side: str = OrdSide.BUY,
    amount: str = "0.1",
    price: str = "49000",
    *,
    symbol: str = "BTCUSD",
    time_in_force: str = TimeInForce.GOOD_TILL_CANCEL,
    expire_time: datetime | None = None,
    post_only: bool = False,
    client_order_id: str | None = None,
    reduce_only: bool = False,
) -> OrderIntent:
    """An order intent; by default a BUY of BTCUSD that rests below the start price."""
    return OrderIntent(
        client_order_id=client_order_id or f"test-{next(_client_order_ids)}",
        symbol_id_exchange=symbol,
        side=OrdSide(side),
        amount=Decimal(amount),
        price=Decimal(price),
        time_in_force=TimeInForce(time_in_force),
        expire_time=expire_time,
        post_only=post_only,
        reduce_only=reduce_only,
    )


def holding(asset: str, account_key: str = ACCOUNT_KEY) -> PaperBalance:
    return PaperBalance.objects.get(account__account_key=account_key, asset=asset)
