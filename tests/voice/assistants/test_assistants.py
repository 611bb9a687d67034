"""The assistant form, its pages and the one payload pushed to Vapi."""

from unittest import mock

import pytest

from integrations.vapi.specs import read_only_properties_in, validation_errors
from tests.factories import AssistantFactory
from tests.vapi import patched_vapi
from tests.voice.assistants.forms import form_data
from voice.assistants import payload as payloads
from voice.assistants import services as assistants_services
from voice.models import Assistant, AssistantCalendar, SyncStatus

CALENDARS = [{"id": "cal-clean", "name": "Dental cleaning"}, {"id": "cal-consult", "name": "Consultation"}]


@pytest.fixture
def vapi():
    with patched_vapi() as client_class:
        client = client_class.return_value
        client.create_assistant.return_value = {"id": "vapi-asst-1"}
        client.update_assistant.return_value = {"id": "vapi-asst-1"}
        yield client


@pytest.fixture
def calendars():
    with mock.patch("voice.assistants.selectors.client_calendars", return_value=CALENDARS) as patched:
        yield patched


def test_new_assistant_payload_fits_create_dto(keyed):
    assistant = AssistantFactory(client=keyed.client_account)
    payload = payloads.assistant_payload(assistant=assistant)
    assert validation_errors(schema_name="CreateAssistantDTO", instance=payload, strict=True) == []
    assert read_only_properties_in(payload) == []
    assert payload["server"]["url"].endswith(f"/api/webhooks/vapi/{keyed.agency.public_id}/")
    assert payload["server"]["headers"]["X-Vapi-Secret"] == keyed.agency.vapi_account.webhook_secret
    assert "tool-calls" in payload["serverMessages"] and "end-of-call-report" in payload["serverMessages"]
    assert payload["metadata"]["assistantId"] == str(assistant.public_id)


def test_edited_assistant_payload_fits_update_dto_and_carries_complete_nested_objects(keyed):
    assistant = AssistantFactory(client=keyed.client_account)
    assistants_services.assistant_update(
        assistant=assistant, author=None, calendars=[], system_prompt="Only greet.", voice_id="Clara"
    )
    payload = payloads.assistant_payload(assistant=assistant)
    assert validation_errors(schema_name="UpdateAssistantDTO", instance=payload, strict=True) == []
    # Vapi replaces nested objects whole: a PATCH must repeat everything, not just what changed.
    assert set(payload["model"]) >= {"provider", "model", "messages", "tools"}
    assert payload["model"]["messages"] == [{"role": "system", "content": "Only greet."}]
    assert payload["voice"] == {"provider": "vapi", "voiceId": "Clara"}
    assert set(payload["transcriber"]) == {"provider", "model", "language"}


def test_inline_tools_fit_vapi_tool_schemas_with_spoken_messages(keyed):
    payload = payloads.assistant_payload(assistant=AssistantFactory(client=keyed.client_account))
    tools = payload["model"]["tools"]
    functions = {t["function"]["name"]: t for t in tools if t["type"] == "function"}
    assert set(functions) == {"check_availability", "book_appointment", "reschedule_appointment", "cancel_appointment"}
    for tool in functions.values():
        assert validation_errors(schema_name="CreateFunctionToolDTO", instance=tool, strict=True) == []
        assert tool["function"]["parameters"]["type"] == "object"
        assert {m["type"] for m in tool["messages"]} >= {"request-start", "request-response-delayed"}
    assert functions["book_appointment"]["function"]["parameters"]["properties"]["service"]["enum"] == ["cleaning"]
    transfer = next(t for t in tools if t["type"] == "transferCall")
    assert transfer["destinations"][0]["number"] == "+15551234567"
    assert {"type": "endCall"} in tools


def test_prompt_variables_are_rendered(keyed):
    assistant = AssistantFactory(
        client=keyed.client_account, system_prompt="{client_name} in {time_zone}; open {business_hours}; today {today}."
    )
    rendered = payloads.assistant_prompt_render(assistant=assistant)
    assert rendered.startswith("A Dental in America/Chicago; open Mon 09:00-17:00")
    assert "Sat closed" in rendered and "{today}" not in rendered


def test_staff_creates_an_assistant_which_is_pushed(
    keyed, as_user, vapi, calendars, django_capture_on_commit_callbacks
):
    client = as_user(keyed.staff)
    url = f"/a/{keyed.agency.slug}/assistants/new/{keyed.client_account.public_id}/"
    assert "Dental cleaning" in client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, form_data())
    assistant = Assistant.objects.get(client=keyed.client_account)
    assert response.status_code == 302 and str(assistant.public_id) in response.url
    assert assistant.business_hours["wed"] is None and assistant.business_hours["thu"] == {
        "open": "08:30",
        "close": "12:00",
    }
    assert list(assistant.calendars.values_list("spoken_name", flat=True)) == ["cleaning"]
    assert assistant.end_call_phrases == ["goodbye", "that's all"]
    assert assistant.sync_status == SyncStatus.SYNCED and assistant.vapi_id == "vapi-asst-1"
    assert vapi.create_assistant.call_args.kwargs["payload"]["name"] == "Front desk"
    page = client.get(response.url).content.decode()
    assert "vapi-asst-1" in page and "Synced to Vapi" in page


def test_the_form_rejects_a_bad_transfer_number_and_hours(keyed, as_user, calendars):
    url = f"/a/{keyed.agency.slug}/assistants/new/{keyed.client_account.public_id}/"
    response = as_user(keyed.owner).post(url, form_data(transfer_number="555-1234", hours_mon="9 to 5"))
    assert response.status_code == 200
    assert "international format" in response.content.decode() and "HH:MM-HH:MM" in response.content.decode()
    assert not Assistant.objects.exists()


def test_edit_form_shows_what_was_saved_and_updates_with_a_patch(
    keyed, as_user, vapi, calendars, django_capture_on_commit_callbacks
):
    assistant = AssistantFactory(client=keyed.client_account, vapi_id="vapi-asst-1")
    client = as_user(keyed.staff)
    url = f"/a/{keyed.agency.slug}/assistants/{assistant.public_id}/edit/"
    assert 'value="cleaning"' in client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, form_data(system_prompt="New prompt", **{"calendar_cal-consult": "consultation"}))
    assistant.refresh_from_db()
    assert assistant.system_prompt == "New prompt"
    assert set(AssistantCalendar.objects.values_list("spoken_name", flat=True)) == {"cleaning", "consultation"}
    vapi.create_assistant.assert_not_called()
    assert vapi.update_assistant.call_args.kwargs["assistant_id"] == "vapi-asst-1"


def test_prompt_preview_renders_what_is_typed(keyed, as_user):
    assistant = AssistantFactory(client=keyed.client_account)
    url = f"/a/{keyed.agency.slug}/assistants/{assistant.public_id}/preview/"
    response = as_user(keyed.staff).post(url, {"system_prompt": "Hi from {client_name}"}, HTTP_HX_REQUEST="true")
    assert "Hi from A Dental" in response.content.decode()


def test_delete_removes_it_in_vapi_too(keyed, as_user, vapi):
    assistant = AssistantFactory(client=keyed.client_account, vapi_id="vapi-asst-1")
    as_user(keyed.owner).post(f"/a/{keyed.agency.slug}/assistants/{assistant.public_id}/delete/")
    vapi.delete_assistant.assert_called_once_with(assistant_id="vapi-asst-1")
    assert not Assistant.objects.exists()


def test_list_shows_assistants_of_all_clients(keyed, as_user):
    AssistantFactory(client=keyed.client_account, name="Dental desk")
    AssistantFactory(client=keyed.other_client, name="Physio desk")
    page = as_user(keyed.staff).get(f"/a/{keyed.agency.slug}/assistants/").content.decode()
    assert "Dental desk" in page and "Physio desk" in page


def _assistant_urls(cast, assistant):
    base = f"/a/{cast.agency.slug}/assistants/{assistant.public_id}/"
    revision = assistant.revisions.first()
    return [
        f"/a/{cast.agency.slug}/assistants/",
        f"/a/{cast.agency.slug}/assistants/new/{cast.client_account.public_id}/",
        base,
        base + "edit/",
        base + "delete/",
        base + "preview/",
        base + "push/",
        base + f"revisions/{revision.public_id}/restore/",
    ]


@pytest.mark.parametrize("who", ["outsider", "client_admin"])
def test_assistant_pages_are_404_to_outsiders_and_client_admins(keyed, as_user, who, calendars):
    assistant = AssistantFactory(client=keyed.client_account)
    client = as_user(getattr(keyed, who))
    for url in _assistant_urls(keyed, assistant):
        for method in (client.get, client.post):
            assert method(url).status_code == 404, url
    assistant.refresh_from_db()
    assert assistant.system_prompt == "You work for {client_name}."


def test_an_assistant_of_agency_a_is_404_under_agency_b(keyed, as_user):
    assistant = AssistantFactory(client=keyed.client_account)
    url = f"/a/{keyed.agency_b.slug}/assistants/{assistant.public_id}/"
    assert as_user(keyed.outsider).get(url).status_code == 404


def test_every_form_field_is_shown_in_a_section(cast, calendars):
    from voice.assistants.forms import AssistantForm

    form = AssistantForm(calendars=CALENDARS)
    shown = [field.name for section in form.sections() for field in section["fields"]]
    assert sorted(shown) == sorted(form.fields)


def test_detail_polls_while_pending_with_a_partial(keyed, as_user):
    assistant = AssistantFactory(client=keyed.client_account)
    url = f"/a/{keyed.agency.slug}/assistants/{assistant.public_id}/"
    partial = as_user(keyed.staff).get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "Pushing to Vapi" in partial and "<html" not in partial


def test_delete_asks_first(keyed, as_user):
    assistant = AssistantFactory(client=keyed.client_account)
    page = as_user(keyed.staff).get(f"/a/{keyed.agency.slug}/assistants/{assistant.public_id}/delete/")
    assert "Delete Front desk?" in page.content.decode()
    assert Assistant.objects.filter(pk=assistant.pk).exists()


@pytest.mark.parametrize(
    ("status", "says"),
    [
        (None, "A Dental is not connected to GoHighLevel"),
        ("disconnected", "A Dental is not connected to GoHighLevel"),
        ("needs_reconnect", "GoHighLevel no longer accepts"),
    ],
)
def test_new_and_edit_pages_say_why_calendars_are_missing_and_link_to_reconnect(cast, as_user, status, says):
    from integrations.ghl.models import ConnectionKind, GhlConnection

    if status is not None:
        GhlConnection.objects.create(
            client=cast.client_account, location_id="loc-a", kind=ConnectionKind.OAUTH_LOCATION, status=status,
            last_error="refresh token revoked" if status == "needs_reconnect" else "",
        )  # fmt: skip
    assistant = AssistantFactory(client=cast.client_account)
    browser = as_user(cast.staff)
    slug, client_id = cast.agency.slug, cast.client_account.public_id
    reconnect = f'action="/a/{slug}/clients/{client_id}/ghl/connect/"'
    for url in (f"/a/{slug}/assistants/new/{client_id}/", f"/a/{slug}/assistants/{assistant.public_id}/edit/"):
        response = browser.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        assert says in page, url
        assert reconnect in page and 'form="ghl-reconnect"' in page, url
    # The calendar the assistant already books into stays on its Edit page.
    assert "Dental cleaning" in page
    if status == "needs_reconnect":
        assert "refresh token revoked" in page
