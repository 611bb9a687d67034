"""POST /api/webhooks/ghl/: verified with test keys of our own, stored first, answered 200, duplicates once."""

import json
from collections import defaultdict
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.urls import reverse
from django.utils import timezone

from integrations import inbox
from integrations.ghl.models import ConnectionKind, GhlConnection
from integrations.ghl.webhooks import MAX_BODY_BYTES
from integrations.inbox import register_handler
from integrations.models import WebhookEvent, WebhookStatus
from tests.integrations.ghl.signing import ED25519_KEY, RSA_KEY, ed25519_sign, public_pem, rsa_sign

pytestmark = pytest.mark.django_db

URL = "/api/webhooks/ghl/"


@pytest.fixture(autouse=True)
def test_keys(settings):
    settings.GHL_WEBHOOK_ED25519_PUBLIC_KEY = public_pem(ED25519_KEY)
    settings.GHL_WEBHOOK_RSA_PUBLIC_KEY = public_pem(RSA_KEY)


@pytest.fixture(autouse=True)
def handlers(monkeypatch):
    registry = defaultdict(list)
    monkeypatch.setattr(inbox, "_handlers", registry)
    return registry


def appointment(webhook_id="wh-1", location_id="loc-a", **extra) -> bytes:
    payload = {
        "type": "AppointmentCreate",
        "locationId": location_id,
        "companyId": "company-a",
        "webhookId": webhook_id,
        "appointment": {"id": "appt-1", "calendarId": "cal-1", "startTime": "2026-11-23T16:00:00-06:00"},
        **extra,
    }
    # Compact, like GHL's own serialisation: the signature covers these exact bytes.
    return json.dumps(payload, separators=(",", ":")).encode()


def post(client, body: bytes, **headers):
    return client.post(URL, data=body, content_type="application/json", headers=headers)


def test_url_is_mounted_where_ghl_is_told_to_send():
    assert reverse("ghl_webhook") == URL


def test_valid_ed25519_event_is_stored_with_its_tenant_and_answered_200(cast, client):
    GhlConnection.objects.create(client=cast.client_account, location_id="loc-a", kind=ConnectionKind.OAUTH_LOCATION)
    body = appointment()

    response = post(client, body, x_ghl_signature=ed25519_sign(body), user_agent="GHL")

    assert response.status_code == 200
    assert response.json()["status"] == "stored"
    event = WebhookEvent.objects.get()
    assert event.provider == "ghl"
    assert event.event_type == "AppointmentCreate"
    assert event.unique_key == "wh-1"
    assert event.client == cast.client_account
    assert event.agency == cast.agency
    assert event.body["companyId"] == "company-a"
    assert event.headers["user-agent"] == "GHL"
    assert "x-ghl-signature" in event.headers


def test_legacy_rsa_signature_is_accepted(client):
    body = appointment()
    response = post(client, body, x_wh_signature=rsa_sign(body))
    assert response.status_code == 200
    assert WebhookEvent.objects.filter(unique_key="wh-1").exists()


def test_rsa_still_verifies_when_the_ed25519_signature_does_not(client):
    body = appointment()
    wrong = ed25519_sign(body, key=ed25519.Ed25519PrivateKey.generate())
    response = post(client, body, x_ghl_signature=wrong, x_wh_signature=rsa_sign(body))
    assert response.status_code == 200


def test_event_for_an_unknown_location_is_still_stored_without_a_tenant(client):
    body = appointment(location_id="loc-nobody")
    assert post(client, body, x_ghl_signature=ed25519_sign(body)).status_code == 200
    event = WebhookEvent.objects.get()
    assert event.agency is None and event.client is None


def test_event_is_kept_and_answered_200_when_its_handler_fails(client, django_capture_on_commit_callbacks):
    calls = []

    def failing_then_fine(event):
        calls.append(event.pk)
        if len(calls) == 1:
            raise RuntimeError("calendar cal-1 not found")

    register_handler("ghl", "AppointmentCreate", failing_then_fine)
    body = appointment()

    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, body, x_ghl_signature=ed25519_sign(body))

    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.status == WebhookStatus.FAILED
    assert event.last_error == "RuntimeError: calendar cal-1 not found"

    WebhookEvent.objects.filter(pk=event.pk).update(next_attempt_at=timezone.now())
    inbox.webhook_process(event_id=event.pk)
    event.refresh_from_db()
    assert event.status == WebhookStatus.PROCESSED
    assert calls == [event.pk, event.pk]


def test_duplicate_webhook_id_answers_200_and_keeps_one_row(client, django_capture_on_commit_callbacks):
    calls = []
    register_handler("ghl", "AppointmentCreate", lambda event: calls.append(event.pk))
    body = appointment()

    with django_capture_on_commit_callbacks(execute=True):
        first = post(client, body, x_ghl_signature=ed25519_sign(body))
        second = post(client, body, x_ghl_signature=ed25519_sign(body))

    assert first.status_code == second.status_code == 200
    assert second.json()["status"] == "duplicate"
    assert WebhookEvent.objects.count() == 1
    assert len(calls) == 1


def test_unknown_event_type_is_stored_and_answered_200(client, django_capture_on_commit_callbacks):
    body = json.dumps({"type": "InvoicePaid", "locationId": "loc-a", "webhookId": "wh-9"}).encode()
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, body, x_ghl_signature=ed25519_sign(body))
    assert response.status_code == 200
    assert WebhookEvent.objects.get().status == WebhookStatus.IGNORED


def test_without_webhook_id_an_identical_redelivery_is_still_a_duplicate(client):
    body = json.dumps({"type": "UNINSTALL", "appId": "app-1", "locationId": "loc-a"}).encode()
    post(client, body, x_ghl_signature=ed25519_sign(body))
    post(client, body, x_ghl_signature=ed25519_sign(body))
    assert WebhookEvent.objects.count() == 1


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "Unsigned request"),
        ({"x_ghl_signature": ed25519_sign(b"something else")}, "Invalid signature"),
        ({"x_ghl_signature": "not base64 at all!"}, "Invalid signature"),
        ({"x_wh_signature": rsa_sign(b"something else")}, "Invalid signature"),
    ],
    ids=["unsigned", "ed25519-over-other-bytes", "garbage", "rsa-over-other-bytes"],
)
def test_unsigned_or_badly_signed_requests_are_refused_and_nothing_is_stored(client, headers, reason):
    response = post(client, appointment(), **headers)
    assert response.status_code == 401
    assert reason in response.json()["detail"]
    assert not WebhookEvent.objects.exists()


def test_tampered_body_is_refused(client):
    signature = ed25519_sign(appointment())
    response = post(client, appointment(location_id="loc-b"), x_ghl_signature=signature)
    assert response.status_code == 401
    assert not WebhookEvent.objects.exists()


def test_signature_from_another_key_is_refused(client):
    body = appointment()
    response = post(client, body, x_ghl_signature=ed25519_sign(body, key=ed25519.Ed25519PrivateKey.generate()))
    assert response.status_code == 401
    assert not WebhookEvent.objects.exists()


def test_events_signed_with_the_real_ghl_key_are_expected_by_default(settings, client):
    settings.GHL_WEBHOOK_ED25519_PUBLIC_KEY = ""
    body = appointment()
    # Our test key is not GHL's: with the shipped key configured, our signature must fail.
    assert post(client, body, x_ghl_signature=ed25519_sign(body)).status_code == 401


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "Body is not JSON"),
        (b"[1, 2]", "Body must be a JSON object"),
        (b'{"locationId": "loc-a"}', "Missing event 'type'"),
        (b'{"type": "AppointmentCreate", "timestamp": NaN}', "Body contains NaN"),
        (b'{"type": "AppointmentCreate", "amount": 1e400}', "too large"),
        (b'{"type": "AppointmentCreate", "x": ' + b"[" * 900 + b"]" * 900 + b"}", "nested deeper than 64"),
        (b'{"type": "AppointmentCreate", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested deeper than 64"),
        (b'{"type": "AppointmentCreate", "n": ' + b"9" * 5000 + b"}", "Body is not JSON"),
    ],
    ids=["not-json", "not-an-object", "no-type", "nan", "float-overflow", "900-deep", "100000-deep", "huge-int"],
)
def test_malformed_signed_body_is_refused_with_a_reason(client, body, reason):
    response = post(client, body, x_ghl_signature=ed25519_sign(body))
    assert response.status_code == 400
    assert reason in response.json()["detail"]
    assert not WebhookEvent.objects.exists()


def test_nul_bytes_and_lone_surrogates_are_stored_cleaned(client):
    body = b'{"type": "AppointmentCreate", "webhookId": "wh-nul", "title": "Clean\\u0000ing \\ud800"}'
    response = post(client, body, x_ghl_signature=ed25519_sign(body))
    assert response.status_code == 200
    assert WebhookEvent.objects.get(unique_key="wh-nul").body["title"] == "Cleaning \ufffd"


def test_stale_timestamp_is_refused_and_a_fresh_one_accepted(client):
    stale = appointment(timestamp=(timezone.now() - timedelta(hours=3)).isoformat())
    response = post(client, stale, x_ghl_signature=ed25519_sign(stale))
    assert response.status_code == 401
    assert "Stale timestamp" in response.json()["detail"]

    fresh = appointment(webhook_id="wh-2", timestamp=timezone.now().isoformat().replace("+00:00", "Z"))
    assert post(client, fresh, x_ghl_signature=ed25519_sign(fresh)).status_code == 200
    epoch_ms = appointment(webhook_id="wh-3", timestamp=int(timezone.now().timestamp() * 1000))
    assert post(client, epoch_ms, x_ghl_signature=ed25519_sign(epoch_ms)).status_code == 200
    assert sorted(WebhookEvent.objects.values_list("unique_key", flat=True)) == ["wh-2", "wh-3"]


def test_unreadable_timestamp_is_refused_with_a_reason(client):
    body = appointment(timestamp="yesterday-ish")
    response = post(client, body, x_ghl_signature=ed25519_sign(body))
    assert response.status_code == 400
    assert "Unreadable timestamp 'yesterday-ish'" in response.json()["detail"]
    assert not WebhookEvent.objects.exists()


def test_oversize_body_is_refused_before_anything_else(client):
    body = appointment(padding="x" * MAX_BODY_BYTES)
    response = post(client, body, x_ghl_signature=ed25519_sign(body))
    assert response.status_code == 413
    assert not WebhookEvent.objects.exists()


def test_overlong_type_or_webhook_id_is_refused_with_a_reason(client):
    for body, reason in (
        (appointment(type="A" * 101), "Event 'type' longer than 100"),
        (appointment(webhook_id="w" * 256), "'webhookId' longer than 255"),
    ):
        response = post(client, body, x_ghl_signature=ed25519_sign(body))
        assert response.status_code == 400
        assert reason in response.json()["detail"]
    assert not WebhookEvent.objects.exists()


def test_only_post_is_allowed(client):
    assert client.get(URL).status_code == 405
