"""Agency API keys: made on the settings page or by command, shown once, stored as a hash, revocable."""

import hashlib
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from tenants.models import ApiKey
from tenants.services import api_key_create, api_key_revoke

pytestmark = pytest.mark.django_db

CLIENTS_URL = "/api/v1/clients/"


def bearer(key):
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def test_a_new_key_is_stored_only_as_its_hash(cast):
    api_key, key = api_key_create(agency=cast.agency, name="Dashboard", created_by=cast.owner)
    assert key.startswith(f"ah_{api_key.prefix}_")
    assert len(key) > 40
    stored = ApiKey.objects.get(pk=api_key.pk)
    assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest()
    secret = key.split("_", 2)[2]
    assert not any(secret in str(value) for value in ApiKey.objects.values_list().get(pk=api_key.pk))


def test_the_settings_page_shows_a_new_key_once(cast, as_user):
    client = as_user(cast.owner)
    settings_url = reverse("agency_settings", args=[cast.agency.slug])
    created = client.post(reverse("api_key_create", args=[cast.agency.slug]), {"api_key-name": "Reporting"})
    # Post/redirect/get: the key is shown by the page the browser lands on, so reloading it adds no key.
    assert created.status_code == 302 and created["Location"] == settings_url
    response = client.get(settings_url)
    api_key = cast.agency.api_keys.get()
    key = response.context["new_key"]["key"]
    assert key in response.content.decode()
    assert "cannot show it again" in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert api_key.created_by == cast.owner
    assert client.get(CLIENTS_URL, **bearer(key)).status_code == 200

    page = client.get(settings_url).content.decode()  # the reload
    assert cast.agency.api_keys.count() == 1
    assert key not in page
    assert f"ah_{api_key.prefix}_…" in page
    assert "Reporting" in page


def test_a_key_needs_a_name(cast, as_user):
    response = as_user(cast.owner).post(reverse("api_key_create", args=[cast.agency.slug]), {"api_key-name": " "})
    assert response.status_code == 200
    assert response.context["new_key"] is None
    assert "This field is required." in response.content.decode()
    assert not ApiKey.objects.exists()


def test_staff_cannot_make_or_revoke_keys(cast, as_user):
    api_key, _ = api_key_create(agency=cast.agency, name="Existing")
    client = as_user(cast.staff)
    assert client.post(reverse("api_key_create", args=[cast.agency.slug]), {"api_key-name": "Mine"}).status_code == 403
    revoke = reverse("api_key_revoke", args=[cast.agency.slug, api_key.public_id])
    assert client.post(revoke).status_code == 403
    api_key.refresh_from_db()
    assert api_key.is_active
    assert cast.agency.api_keys.count() == 1


def test_another_agency_cannot_revoke_a_key(cast, as_user):
    api_key, _ = api_key_create(agency=cast.agency, name="Existing")
    revoke = reverse("api_key_revoke", args=[cast.agency_b.slug, api_key.public_id])
    assert as_user(cast.outsider).post(revoke).status_code == 404
    api_key.refresh_from_db()
    assert api_key.is_active


def test_a_revoked_key_is_refused_and_shown_as_revoked(cast, as_user, client):
    api_key, key = api_key_create(agency=cast.agency, name="Old script")
    owner = as_user(cast.owner)
    response = owner.post(reverse("api_key_revoke", args=[cast.agency.slug, api_key.public_id]), follow=True)
    assert "was revoked" in response.content.decode()
    assert "Revoked" in response.content.decode()
    client.logout()
    response = client.get(CLIENTS_URL, **bearer(key))
    assert response.status_code == 401
    assert response.json() == {"detail": "This API key was revoked."}


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "No API key."),
        ({"HTTP_AUTHORIZATION": "Token abc"}, "Malformed Authorization header."),
        ({"HTTP_AUTHORIZATION": "Bearer"}, "Malformed Authorization header."),
        ({"HTTP_AUTHORIZATION": "Bearer not-a-key"}, "Malformed API key."),
        ({"HTTP_AUTHORIZATION": "Bearer ah__secret"}, "Malformed API key."),
        ({"HTTP_AUTHORIZATION": "Bearer ah_0123456789ab_wrong"}, "Unknown API key."),
    ],
)
def test_requests_without_a_good_key_get_401_with_the_reason(cast, client, headers, reason):
    api_key_create(agency=cast.agency, name="Real")
    response = client.get(CLIENTS_URL, **headers)
    assert response.status_code == 401
    assert response.json()["detail"].startswith(reason)
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_key_with_a_known_prefix_but_a_wrong_secret_is_unknown(cast, client):
    api_key, _ = api_key_create(agency=cast.agency, name="Real")
    forged = f"ah_{api_key.prefix}_{'x' * 43}"
    response = client.get(CLIENTS_URL, **bearer(forged))
    assert response.status_code == 401
    assert response.json() == {"detail": "Unknown API key."}


def test_a_signed_in_person_without_a_key_gets_401(cast, as_user):
    assert as_user(cast.owner).get(CLIENTS_URL).status_code == 401


def test_last_used_is_recorded_at_most_once_a_minute(cast, client, django_assert_num_queries):
    api_key, key = api_key_create(agency=cast.agency, name="Busy")
    client.get(CLIENTS_URL, **bearer(key))
    api_key.refresh_from_db()
    first_use = api_key.last_used_at
    assert first_use is not None
    # Within the minute: the key lookup, the count and the page, no write.
    with django_assert_num_queries(3):
        client.get(CLIENTS_URL, **bearer(key))
    api_key.refresh_from_db()
    assert api_key.last_used_at == first_use

    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=timezone.now() - timedelta(minutes=2))
    client.get(CLIENTS_URL, **bearer(key))
    api_key.refresh_from_db()
    assert api_key.last_used_at > first_use


def test_revoking_twice_keeps_the_first_time(cast):
    api_key, _ = api_key_create(agency=cast.agency, name="Once")
    api_key_revoke(api_key=api_key)
    revoked_at = api_key.revoked_at
    api_key_revoke(api_key=ApiKey.objects.get(pk=api_key.pk))
    assert ApiKey.objects.get(pk=api_key.pk).revoked_at == revoked_at


def test_the_command_prints_a_working_key_as_its_last_line(cast, client):
    out = StringIO()
    call_command("create_api_key", cast.agency.slug, "--name", "CI export", stdout=out)
    key = out.getvalue().strip().splitlines()[-1]
    api_key = ApiKey.objects.get()
    assert (api_key.agency, api_key.name, api_key.created_by) == (cast.agency, "CI export", None)
    response = client.get(CLIENTS_URL, **bearer(key))
    assert response.status_code == 200
    assert [c["name"] for c in response.json()["results"]] == ["A Dental", "A Physio"]


def test_the_command_refuses_an_unknown_agency(db):
    with pytest.raises(CommandError, match="No agency"):
        call_command("create_api_key", "nobody", stdout=StringIO())
    assert not ApiKey.objects.exists()
