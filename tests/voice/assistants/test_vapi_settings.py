"""The agency's Vapi key, webhook secret and server URL, and `manage.py vapi_endpoint`."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from integrations.vapi.errors import VapiAuthError
from tenants.models import AgencyRole
from tests.factories import AssistantFactory
from tests.vapi import patched_vapi
from voice.assistants import vapi_org
from voice.models import PhoneNumber, VapiAccount


def _url(cast):
    return f"/a/{cast.agency.slug}/settings/vapi/"


def test_saving_a_working_key_verifies_it_and_shows_the_new_secret_once(cast, as_user):
    client = as_user(cast.owner)
    with patched_vapi() as vapi:
        vapi.return_value.list_assistants.return_value = []
        response = client.post(_url(cast), {"action": "save_key", "api_key": " sk-private "}, follow=True)
    account = VapiAccount.objects.get(agency=cast.agency)
    assert account.api_key == "sk-private" and account.verified_at is not None
    vapi.assert_called_with(api_key="sk-private")
    page = response.content.decode()
    assert "Vapi accepted the key" in page and account.webhook_secret in page
    assert f"/api/webhooks/vapi/{cast.agency.public_id}/" in page
    assert account.webhook_secret not in client.get(_url(cast)).content.decode()
    assert "sk-private" not in client.get(_url(cast)).content.decode()


def test_verify_says_when_vapi_rejects_the_key(cast, as_user):
    vapi_org.vapi_account_key_save(agency=cast.agency, api_key="wrong")
    with patched_vapi() as vapi:
        vapi.return_value.list_assistants.side_effect = VapiAuthError("Invalid Key.", status_code=401)
        page = as_user(cast.owner).post(_url(cast), {"action": "verify"}, follow=True).content.decode()
    assert "Vapi rejected the key: Invalid Key." in page
    assert VapiAccount.objects.get(agency=cast.agency).verified_at is None


def test_owner_can_reveal_and_rotate_the_secret_which_reaches_vapi(cast, as_user, django_capture_on_commit_callbacks):
    account, _ = vapi_org.vapi_account_key_save(agency=cast.agency, api_key="vapi-private-key")
    old = account.webhook_secret
    assistant = AssistantFactory(client=cast.client_account, vapi_id="vapi-1")
    PhoneNumber.objects.create(agency=cast.agency, vapi_id="pn-1", assistant=assistant)
    client = as_user(cast.owner)
    assert old in client.post(_url(cast), {"action": "reveal_secret"}).content.decode()
    with (
        patched_vapi() as vapi,
        django_capture_on_commit_callbacks(execute=True),
    ):
        page = client.post(_url(cast), {"action": "rotate_secret"}).content.decode()
    account.refresh_from_db()
    assert account.webhook_secret != old and account.webhook_secret in page and old not in page
    new_header = {"X-Vapi-Secret": account.webhook_secret}
    assert vapi.return_value.update_assistant.call_args.kwargs["payload"]["server"]["headers"] == new_header
    assert vapi.return_value.update_phone_number.call_args.kwargs["payload"]["server"]["headers"] == new_header


def test_an_admin_manages_the_key_but_cannot_see_the_secret(cast, as_user):
    cast.agency.memberships.filter(user=cast.staff).update(role=AgencyRole.ADMIN)
    account, _ = vapi_org.vapi_account_ensure(agency=cast.agency)
    client = as_user(cast.staff)
    assert client.get(_url(cast)).status_code == 200
    response = client.post(_url(cast), {"action": "reveal_secret"})
    assert response.status_code == 403 and account.webhook_secret not in response.content.decode()


def test_staff_get_403_and_outsiders_and_client_admins_404(cast, as_user):
    assert as_user(cast.staff).get(_url(cast)).status_code == 403
    assert as_user(cast.staff).post(_url(cast), {"action": "reveal_secret"}).status_code == 403
    for stranger in (cast.outsider, cast.client_admin):
        client = as_user(stranger)
        assert client.get(_url(cast)).status_code == 404
        assert client.post(_url(cast), {"action": "reveal_secret"}).status_code == 404


def test_vapi_endpoint_prints_url_and_secret_as_json_creating_the_secret(cast, settings):
    settings.PUBLIC_BASE_URL = "https://hub.example.com"
    out = StringIO()
    call_command("vapi_endpoint", cast.agency.slug, stdout=out)
    printed = json.loads(out.getvalue())
    assert printed == {
        "url": f"https://hub.example.com/api/webhooks/vapi/{cast.agency.public_id}/",
        "secret": VapiAccount.objects.get(agency=cast.agency).webhook_secret,
    }
    again = StringIO()
    call_command("vapi_endpoint", cast.agency.slug, stdout=again)
    assert json.loads(again.getvalue()) == printed


def test_vapi_endpoint_refuses_an_unknown_agency(db):
    with pytest.raises(CommandError, match="No agency"):
        call_command("vapi_endpoint", "nope")
