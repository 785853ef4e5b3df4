import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from accounts import credentials
from accounts.models import ApiKey, AuditEvent, ExchangeAccount
from accounts.services import AccountInvalid, account_link, api_key_hash

pytestmark = pytest.mark.django_db
KRAKEN_KEYS = {"PublicApiKey": "public-key-0123456789", "PrivateApiKey": "private-secret-abcdef"}


def test_linking_encrypts_the_keys_and_keeps_only_a_masked_hint(django_capture_on_commit_callbacks):
    account, created = account_link(exchange_id="KRAKEN/JOHN", parameters=KRAKEN_KEYS)
    stored = ExchangeAccount.objects.get(pk=account.pk)
    assert created and (stored.venue, stored.tag) == ("KRAKEN", "JOHN")
    assert "private-secret" not in stored.credentials
    assert stored.credentials_hint == {"PublicApiKey": "••••6789", "PrivateApiKey": "••••cdef"}
    assert credentials.decrypt(stored.credentials)["PrivateApiKey"] == "private-secret-abcdef"


def test_linking_again_updates_the_keys_of_the_same_account():
    account_link(exchange_id="KRAKEN/JOHN", parameters=KRAKEN_KEYS)
    _, created = account_link(
        exchange_id="KRAKEN/JOHN", parameters={**KRAKEN_KEYS, "PrivateApiKey": "new-secret-0000"}
    )
    assert not created
    assert ExchangeAccount.objects.count() == 1


@pytest.mark.parametrize(
    ("exchange_id", "parameters", "field"),
    [
        ("KRAKEN/JOHN", {"PublicApiKey": "x"}, "PrivateApiKey"),
        ("COINBASE/ANN", KRAKEN_KEYS, "PassPhrase"),
        ("NOPE/X", {}, "exchange_id"),
        ("BITMEX/JOHN", KRAKEN_KEYS, "exchange_id"),
        ("KRAKEN/", KRAKEN_KEYS, "exchange_id"),
    ],
)
def test_a_bad_link_names_the_field_and_writes_nothing(exchange_id, parameters, field):
    with pytest.raises(AccountInvalid) as invalid:
        account_link(exchange_id=exchange_id, parameters=parameters)
    assert field in invalid.value.errors
    assert not ExchangeAccount.objects.exists()


def test_bitmex_says_it_closed():
    with pytest.raises(AccountInvalid) as invalid:
        account_link(exchange_id="BITMEX/JOHN", parameters=KRAKEN_KEYS)
    assert "closed on 2026-09-23" in invalid.value.errors["exchange_id"][0]


def test_every_separator_the_contract_allows_tags_an_account():
    for separator in "~/.,:;\\!@#$%^&*-_+=":
        account, _ = account_link(exchange_id=f"PAPER{separator}T", parameters={})
        assert (account.venue, account.tag) == ("PAPER", "T")


def test_decrypted_credentials_never_show_their_values_in_a_repr():
    secret = credentials.Credentials({"PrivateApiKey": "hunter2-very-secret"})
    assert "hunter2" not in repr(secret) and "hunter2" not in str(secret)


def test_rotation_re_encrypts_under_the_newest_key_and_the_old_key_can_go(settings):
    old_key = settings.EMSWEB_FIELD_KEYS[0]
    account, _ = account_link(exchange_id="KRAKEN/JOHN", parameters=KRAKEN_KEYS)
    new_key = Fernet.generate_key().decode()
    settings.EMSWEB_FIELD_KEYS = [new_key, old_key]
    call_command("rotate_field_keys")
    settings.EMSWEB_FIELD_KEYS = [new_key]
    account.refresh_from_db()
    assert credentials.decrypt(account.credentials)["PublicApiKey"] == KRAKEN_KEYS["PublicApiKey"]


def test_without_the_key_a_database_copy_decrypts_nothing(settings):
    account, _ = account_link(exchange_id="KRAKEN/JOHN", parameters=KRAKEN_KEYS)
    settings.EMSWEB_FIELD_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(credentials.CredentialsUnreadable):
        credentials.decrypt(account.credentials)


def test_create_api_key_prints_the_key_alone_on_its_last_line_and_stores_its_hash(
    capsys, django_user_model
):
    django_user_model.objects.create_user("ann")
    call_command("create_api_key", "ann", "--label", "script")
    key = capsys.readouterr().out.strip().splitlines()[-1]
    stored = ApiKey.objects.get()
    assert key.startswith("ems_") and len(key) > 40
    assert stored.key_hash == api_key_hash(key) and key not in stored.key_hash


def test_audit_details_read_in_an_orders_order_whatever_order_the_database_keeps():
    event = AuditEvent(detail={"api_key": "ems_x", "price": "1", "side": "BUY", "amount": "2"})
    assert [key for key, _ in event.detail_items] == ["side", "amount", "price", "api_key"]
