"""The assistant form in a browser: a caller context variable clicked goes into the prompt at the cursor, and
the preview shows it with its example; the form fits a phone."""

from unittest import mock

import pytest
from playwright.sync_api import expect

from tests.e2e.browser import sign_in
from tests.factories import AssistantFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_variable_is_inserted_into_the_prompt_and_previewed_with_its_example(cast, live_server, page, screenshot):
    assistant = AssistantFactory(client=cast.client_account, system_prompt="Greet the caller. ")
    sign_in(page, live_server.url, cast.staff.email)
    with mock.patch("voice.assistants.selectors.client_calendars", return_value=[]):
        page.goto(f"{live_server.url}/a/{cast.agency.slug}/assistants/{assistant.public_id}/edit/")
        prompt = page.locator("#id_system_prompt")
        prompt.click()
        prompt.press("End")
        page.locator('[data-call-variable="caller_first_name"] button').click()
        expect(prompt).to_have_value("Greet the caller. {{caller_first_name}}")
        page.get_by_role("button", name="Render the prompt as typed").click()
        expect(page.locator("#prompt-preview")).to_have_text("Greet the caller. Jane")
        screenshot("assistant-call-variables")
        page.set_viewport_size({"width": 390, "height": 844})
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1]
