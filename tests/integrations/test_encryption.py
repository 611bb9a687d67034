import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection

from integrations.crypto import decrypt, encrypt
from integrations.ghl.models import GhlAppCredentials

pytestmark = pytest.mark.django_db


def _raw_secret(pk):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT client_secret FROM {GhlAppCredentials._meta.db_table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_secret_is_encrypted_at_rest_and_read_back_in_clear(cast):
    creds = GhlAppCredentials.objects.create(agency=cast.agency, client_id="app-1", client_secret="s3cr3t-value")
    raw = _raw_secret(creds.pk)
    assert "s3cr3t-value" not in raw
    assert raw.startswith("gAAAA")  # a Fernet token
    assert GhlAppCredentials.objects.get(pk=creds.pk).client_secret == "s3cr3t-value"


def test_rotation_moves_every_secret_to_the_newest_key(cast, settings):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old_key]
    creds = GhlAppCredentials.objects.create(agency=cast.agency, client_id="app-1", client_secret="rotate-me")
    before = _raw_secret(creds.pk)
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    call_command("rotate_encryption_key", stdout=open("/dev/null", "w"))  # noqa: SIM115
    after = _raw_secret(creds.pk)
    assert after != before
    # Only the new key is needed from now on.
    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    assert GhlAppCredentials.objects.get(pk=creds.pk).client_secret == "rotate-me"
    assert Fernet(new_key.encode()).decrypt(after.encode()) == b"rotate-me"


def test_a_secret_under_an_unknown_key_fails_loudly_without_revealing_it(settings):
    token = encrypt("hidden")
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(ImproperlyConfigured) as excinfo:
        decrypt(token)
    assert token not in str(excinfo.value) and "hidden" not in str(excinfo.value)


def test_secrets_never_show_in_the_platform_admin(cast, client):
    from tenants.models import User

    GhlAppCredentials.objects.create(agency=cast.agency, client_id="app-1", client_secret="admin-must-not-see")
    root = User.objects.create_superuser(email="root@platform.test", password="x")
    client.force_login(root)
    creds = GhlAppCredentials.objects.get()
    page = client.get(f"/admin/ghl/ghlappcredentials/{creds.pk}/change/")
    assert page.status_code in (200, 404)  # registered or not, it never carries the secret
    assert b"admin-must-not-see" not in page.content
