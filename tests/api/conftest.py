import pytest
from django.test import Client

from accounts.services import api_key_create


class ApiClient:
    """A test client that sends the key the way the hosted EMS's clients do."""

    def __init__(self, key: str):
        self.client = Client()
        self.headers = {"X-CoinAPI-Key": key}

    def get(self, path, params=None, **headers):
        return self.client.get(path, params or {}, headers={**self.headers, **headers})

    def post(self, path, body, **headers):
        data = body if isinstance(body, str | bytes) else __import__("json").dumps(body)
        return self.client.post(
            path, data, content_type="application/json", headers={**self.headers, **headers}
        )

    def delete(self, path, **headers):
        return self.client.delete(path, headers={**self.headers, **headers})


@pytest.fixture
def trader(django_user_model):
    """A desk admin: may trade every account (roles are tested in tests/accounts/test_roles)."""
    from accounts.models import DeskMember, DeskRole

    user = django_user_model.objects.create_user("john", password="x" * 12)
    DeskMember.objects.create(user=user, role=DeskRole.ADMIN)
    return user


@pytest.fixture
def api(trader):
    _, key = api_key_create(user=trader, label="tests")
    return ApiClient(key)


@pytest.fixture
def read_only_api(trader):
    _, key = api_key_create(user=trader, label="viewer", read_only=True)
    return ApiClient(key)
