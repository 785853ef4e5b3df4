from decimal import Decimal

import pytest

from tests.paper.helpers import ACCOUNT_KEY
from venues.paper.adapter import PaperVenue


@pytest.fixture(autouse=True)
def paper_settings(settings):
    """The paper exchange as these tests expect it, whatever the environment says."""
    settings.EMSWEB_PAPER_TICK_SECONDS = 0
    settings.EMSWEB_PAPER_SEED = 20261123
    settings.EMSWEB_PAPER_MAKER_FEE = Decimal("0.0016")
    settings.EMSWEB_PAPER_TAKER_FEE = Decimal("0.0026")
    settings.EMSWEB_PAPER_START_PRICES = {
        "BTCUSD": Decimal(50000),
        "ETHUSD": Decimal(3000),
        "OXTUSD": Decimal("0.11"),
        "USDJPY": Decimal(150),
    }
    return settings


@pytest.fixture
def venue() -> PaperVenue:
    return PaperVenue(account_key=ACCOUNT_KEY)
