"""Every save keeps a revision; any revision can be restored, which is itself a revision and a push."""

from unittest import mock

import pytest

from tests.factories import AssistantFactory
from tests.vapi import patched_vapi
from voice.assistants import services as assistants_services
from voice.assistants import vapi_org
from voice.models import AssistantRevision


@pytest.fixture
def assistant(cast):
    vapi_org.vapi_account_key_save(agency=cast.agency, api_key="vapi-private-key")
    return AssistantFactory(client=cast.client_account, system_prompt="Line one\nLine two", vapi_id="vapi-1")


def _edit(assistant, author, **fields):
    with mock.patch("voice.assistants.tasks.assistant_push_task.delay"):
        calendars = [
            {"calendar_id": c.calendar_id, "calendar_name": c.calendar_name, "spoken_name": c.spoken_name}
            for c in assistant.calendars.all()
        ]
        return assistants_services.assistant_update(assistant=assistant, author=author, calendars=calendars, **fields)


def test_each_save_records_who_what_and_a_prompt_diff(cast, assistant):
    _edit(assistant, cast.staff, system_prompt="Line one\nLine 2", voice_id="Clara")
    latest = assistant.revisions.first()
    assert assistant.revisions.count() == 2
    assert latest.author == cast.staff
    assert set(latest.changed_fields) == {"system_prompt", "voice_id"}
    assert "-Line two" in latest.prompt_diff and "+Line 2" in latest.prompt_diff


def test_the_detail_page_lists_revisions_with_their_diff(cast, as_user, assistant):
    _edit(assistant, cast.staff, system_prompt="Line one\nLine 2")
    page = as_user(cast.owner).get(f"/a/{cast.agency.slug}/assistants/{assistant.public_id}/").content.decode()
    assert "staff@a.test" in page and "+Line 2" in page and "Restore" in page


def test_revisions_say_what_changed_in_words_and_the_first_is_the_creation(cast, as_user, assistant):
    _edit(assistant, cast.staff, first_message="Hello there", voice_id="Clara", voice_provider="11labs")
    page = as_user(cast.owner).get(f"/a/{cast.agency.slug}/assistants/{assistant.public_id}/").content.decode()
    assert "Changed: First message, Voice<" in page
    assert "first_message" not in page and "voice_id" not in page
    assert page.count("Created the assistant") == 1
    assert page.index("Changed: First message") < page.index("Created the assistant")  # newest first


def test_restoring_brings_back_the_old_version_as_a_new_revision_and_pushes(
    cast, as_user, assistant, django_capture_on_commit_callbacks
):
    first = assistant.revisions.get()
    _edit(assistant, cast.staff, system_prompt="Rewritten", name="Changed", end_call_phrases=[])
    assistant.calendars.all().delete()
    url = f"/a/{cast.agency.slug}/assistants/{assistant.public_id}/revisions/{first.public_id}/restore/"
    with (
        patched_vapi() as vapi,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = as_user(cast.staff).post(url)
    assert response.status_code == 302
    assistant.refresh_from_db()
    assert (assistant.system_prompt, assistant.name, assistant.end_call_phrases) == (
        "Line one\nLine two",
        "Front desk",
        ["goodbye"],
    )
    assert list(assistant.calendars.values_list("spoken_name", flat=True)) == ["cleaning"]
    assert AssistantRevision.objects.filter(assistant=assistant).count() == 3
    assert assistant.revisions.first().author == cast.staff
    pushed = vapi.return_value.update_assistant.call_args.kwargs
    assert pushed["assistant_id"] == "vapi-1"
    assert pushed["payload"]["model"]["messages"][0]["content"] == "Line one\nLine two"


def test_a_revision_of_another_assistant_cannot_be_restored_through_this_one(cast, as_user, assistant):
    other = AssistantFactory(client=cast.other_client, name="Physio desk")
    url = f"/a/{cast.agency.slug}/assistants/{assistant.public_id}/revisions/{other.revisions.get().public_id}/restore/"
    assert as_user(cast.owner).post(url).status_code == 404
