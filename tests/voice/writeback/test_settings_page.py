"""The client's write-back page: outcome tags with defaults, and the structured-data mapping chosen from the
location's contact custom fields (read from GHL, cached briefly)."""

from unittest import mock

import pytest
from django.core.cache import cache
from django.urls import reverse

from integrations.ghl import client as ghl_client
from integrations.sandbox.models import SandboxObject
from tests.factories import CallFactory
from voice.models import WriteBackSettings

pytestmark = pytest.mark.django_db


def _url(cast) -> str:
    return reverse("client_writeback", args=[cast.agency.slug, cast.client_account.public_id])


def _reason_id() -> str:
    return SandboxObject.objects.get(
        provider="ghl", kind="custom_field", data__name="Reason for call", parent_id__contains="Chicago"
    ).object_id


def _form(**changes) -> dict:
    data = {
        "tags-enabled": "on",
        "tags-booked_tag": "ai-booked",
        "tags-no_booking_tag": "ai-no-booking",
        "tags-transferred_tag": "ai-transferred",
        "tags-failed_tag": "ai-call-failed",
    }
    return {**data, **changes}


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def test_the_page_offers_default_tags_and_the_locations_fields_for_the_keys_calls_answered(live, as_user):
    CallFactory(agency=live.agency, client=live.client_account, structured_data={"reason": "Ache", "insurer": "Aetna"})
    page = as_user(live.staff).get(_url(live)).content.decode()

    assert 'value="ai-booked"' in page and 'value="ai-no-booking"' in page and 'value="ai-transferred"' in page
    mapping = page[page.index('data-testid="field-mapping"') :]
    assert 'value="insurer"' in mapping and 'value="reason"' in mapping
    assert "Reason for call" in mapping and "Preferred callback time" in mapping and "Insurance provider" in mapping


def test_saving_maps_keys_to_fields_and_keeps_the_tags_it_was_given(live, as_user):
    browser = as_user(live.staff)
    data = _form(**{"tags-booked_tag": " New  Patient ", "tags-failed_tag": "", "map-key_0": "reason"})
    data["map-field_0"] = _reason_id()
    assert browser.post(_url(live), data).status_code == 302

    settings = WriteBackSettings.objects.get(client=live.client_account)
    assert (settings.booked_tag, settings.failed_tag) == ("new patient", "")
    assert settings.field_mapping == {"reason": {"id": _reason_id(), "name": "Reason for call"}}
    page = browser.get(_url(live)).content.decode()
    assert f'<option value="{_reason_id()}" selected>Reason for call</option>' in page


def test_a_field_the_location_does_not_have_and_a_bad_key_are_refused(live, as_user):
    browser = as_user(live.staff)
    forged = browser.post(_url(live), _form(**{"map-key_0": "reason", "map-field_0": "notTheLocations"}))
    bad_key = browser.post(_url(live), _form(**{"map-key_0": "two words", "map-field_0": _reason_id()}))
    bad_tag = browser.post(_url(live), _form(**{"tags-booked_tag": "<b>booked</b>"}))

    assert forged.status_code == bad_key.status_code == bad_tag.status_code == 200
    assert "Keys are letters, digits" in bad_key.content.decode()
    assert "Use letters, digits, spaces" in bad_tag.content.decode()
    assert not WriteBackSettings.objects.exists()


def test_the_fields_are_read_from_ghl_once_per_few_minutes_unless_reloaded(live, as_user):
    browser = as_user(live.staff)
    with mock.patch.object(
        ghl_client.GhlClient, "list_custom_fields", autospec=True, side_effect=ghl_client.GhlClient.list_custom_fields
    ) as listed:
        browser.get(_url(live))
        browser.get(_url(live))
        assert listed.call_count == 1
        browser.get(_url(live) + "?refresh=1")
        assert listed.call_count == 2


def test_a_client_not_connected_keeps_its_tags_editable_and_says_why_no_fields(cast, as_user):
    browser = as_user(cast.staff)
    page = browser.get(_url(cast)).content.decode()
    assert 'data-testid="fields-problem"' in page and "not connected to GoHighLevel" in page
    assert browser.post(_url(cast), _form(**{"tags-booked_tag": "booked"})).status_code == 302
    assert WriteBackSettings.objects.get().booked_tag == "booked"


def test_the_client_page_links_to_the_write_back(cast, as_user):
    url = reverse("client_detail", args=[cast.agency.slug, cast.client_account.public_id])
    assert _url(cast) in as_user(cast.staff).get(url).content.decode()
