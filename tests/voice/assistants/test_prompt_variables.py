"""The caller context variables in the assistant form: listed with an example next to the prompt, insertable,
filled with their examples in the preview, and sent to Vapi untouched for it to fill at each call."""

from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from tests.factories import AssistantFactory
from voice.assistants import payload as payloads
from voice.live.caller import CALL_START_VARIABLES

pytestmark = pytest.mark.django_db


@pytest.fixture
def calendars():
    with mock.patch("voice.assistants.selectors.client_calendars", return_value=[]):
        yield


@pytest.mark.parametrize("page", ["new", "edit"])
def test_the_form_lists_each_call_variable_with_an_example_and_an_insert_button(keyed, as_user, calendars, page):
    assistant = AssistantFactory(client=keyed.client_account)
    base = f"/a/{keyed.agency.slug}/assistants/"
    url = base + (f"new/{keyed.client_account.public_id}/" if page == "new" else f"{assistant.public_id}/edit/")
    html = as_user(keyed.staff).get(url).content.decode()
    assert 'id="call-variables"' in html and "js/insert.js" in html
    for variable in CALL_START_VARIABLES:
        assert f'data-insert="{{{{{variable.name}}}}}" data-insert-target="#id_system_prompt"' in html
        assert f"“{variable.example}”" in html.replace("&#x27;", "'")
    assert 'id="id_system_prompt"' in html


def test_the_preview_fills_the_call_variables_with_their_examples(keyed, as_user):
    assistant = AssistantFactory(client=keyed.client_account)
    url = f"/a/{keyed.agency.slug}/assistants/{assistant.public_id}/preview/"
    prompt = "Hi {{caller_first_name}} from {client_name}. Next: {{ caller_appointments }}. {{unknown_thing}}"
    html = as_user(keyed.staff).post(url, {"system_prompt": prompt}, HTTP_HX_REQUEST="true").content.decode()
    assert "Hi Jane from A Dental. Next: Tuesday, December 8 at 9 AM (cleaning). {{unknown_thing}}" in html


def test_the_pushed_prompt_keeps_the_call_variables_for_vapi(keyed):
    prompt = "Today is {{today}} ({today} when saved). {{caller_context}} Hours: {{business_hours}}."
    assistant = AssistantFactory(client=keyed.client_account, system_prompt=prompt)
    content = payloads.assistant_payload(assistant=assistant)["model"]["messages"][0]["content"]
    assert content.startswith("Today is {{today}} (") and "{{caller_context}} Hours: {{business_hours}}." in content
    assert "{today}" not in content.replace("{{today}}", "")


def test_the_pushed_prompt_says_the_day_of_each_call_not_the_day_it_was_saved(keyed):
    """A prompt pushed on Monday must not tell Thursday's callers that today is Monday: {today} goes to Vapi as
    its LiquidJS date of the call, in the client's zone; our own pages show today's date."""
    assistant = AssistantFactory(
        client=keyed.client_account, system_prompt="Today is {today}.", time_zone="America/Denver"
    )
    pushed = payloads.assistant_payload(assistant=assistant)["model"]["messages"][0]["content"]
    assert pushed == 'Today is {{"now" | date: "%A, %B %-e, %Y", "America/Denver"}}.'
    shown = payloads.assistant_prompt_render(assistant=assistant)
    assert shown == f"Today is {timezone.now().astimezone(ZoneInfo('America/Denver')):%A, %B %-d, %Y}."
