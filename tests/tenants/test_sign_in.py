"""Sign-in as people meet it: email login, verification, reset, rate limits and optional TOTP."""

import pytest
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value, yield_hotp_counters_from_time
from django.core import mail

from tenants.models import User
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_open_sign_up_requires_email_verification_first(client):
    response = client.post(
        "/accounts/signup/",
        {"email": "new@agency.test", "password1": "a-Long-unusual-pass-42", "password2": "a-Long-unusual-pass-42"},
    )
    assert response.url == "/accounts/confirm-email/"
    assert "_auth_user_id" not in client.session
    assert "confirm" in mail.outbox[0].body.lower()
    assert not User.objects.get(email="new@agency.test").emailaddress_set.get().verified


def test_sign_in_is_by_email_and_there_are_no_usernames(cast, client):
    assert not hasattr(User, "username") or User.username is None
    response = client.post("/accounts/login/", {"login": "owner@a.test", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").url == f"/a/{cast.agency.slug}/"


def test_password_reset_mails_a_link(cast, client):
    response = client.post("/accounts/password/reset/", {"email": "staff@a.test"})
    assert response.status_code == 302
    assert "/accounts/password/reset/key/" in mail.outbox[0].body


def test_repeated_wrong_passwords_are_rate_limited(cast, client):
    for _ in range(5):
        client.post("/accounts/login/", {"login": "owner@a.test", "password": "wrong"})
    blocked = client.post("/accounts/login/", {"login": "owner@a.test", "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    assert blocked.status_code in (200, 429)
    assert b"too many" in blocked.content.lower()


def test_totp_two_factor_is_asked_after_the_password(cast, client):
    secret = "JBSWY3DPEHPK3PXP"
    TOTP.activate(cast.owner, secret)
    response = client.post("/accounts/login/", {"login": "owner@a.test", "password": PASSWORD})
    assert response.url == "/accounts/2fa/authenticate/"
    assert "_auth_user_id" not in client.session
    code = format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))
    done = client.post("/accounts/2fa/authenticate/", {"code": code})
    assert done.status_code == 302
    assert client.session["_auth_user_id"] == str(cast.owner.pk)


def test_two_factor_setup_asks_for_the_password_again_then_shows_the_secret(cast, client):
    client.post("/accounts/login/", {"login": "staff@a.test", "password": PASSWORD})
    first = client.get("/accounts/2fa/totp/activate/")
    assert first.url.startswith("/accounts/reauthenticate/")
    client.post(first.url, {"password": PASSWORD})
    page = client.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200
    assert b"Authenticator code" in page.content
