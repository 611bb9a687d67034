"""The per-client call start: caller context through assistant-request, or the fastest pickup (the number tied
to its assistant in Vapi, the caller context in the call's first tool answer)."""

import pytest

from integrations.ghl.sandbox import store
from integrations.vapi.specs import PHONE_NUMBER_UPDATE_SCHEMAS, phone_number_update_schema, validation_errors
from tenants.models import CallStart
from tests.factories import AssistantFactory
from tests.vapi import CALLER, live_call_setup, tool_calls, tool_results, vapi_post
from voice.assistants import vapi_org
from voice.models import PhoneNumber

pytestmark = pytest.mark.django_db


def _edit(client, cast, call_start: str):
    account = cast.client_account
    form = {"name": account.name, "time_zone": account.time_zone, "contact_email": "", "call_start": call_start}
    return client.post(f"/a/{cast.agency.slug}/clients/{account.public_id}/edit/", form)


def test_the_client_form_offers_both_call_starts_and_says_the_trade_off(cast, as_user):
    page = as_user(cast.owner).get(f"/a/{cast.agency.slug}/clients/{cast.client_account.public_id}/edit/")
    html = page.content.decode()
    assert "Answer with caller context (assistant-request, adds a lookup at call start)" in html
    assert "Fastest pickup: number tied to the assistant" in html
    assert 'value="caller_context" id="id_call_start_0" checked' in html
    assert "at most 2 seconds" in html and "Vapi&#x27;s API cannot untie it" in html.replace("'", "&#x27;")


def test_choosing_the_fastest_pickup_ties_the_clients_numbers_to_their_assistant_in_vapi(
    cast, as_user, settings, django_capture_on_commit_callbacks, caplog
):
    from integrations.vapi.sandbox import sandbox_phone_number
    from voice.demo import demo_assistants_seed

    settings.SANDBOX = True
    demo_assistants_seed(agency=cast.agency)
    numbers = PhoneNumber.objects.filter(agency=cast.agency).select_related("assistant__client")
    assert all("assistantId" not in sandbox_phone_number(n.vapi_id) for n in numbers)  # asks per call

    with django_capture_on_commit_callbacks(execute=True):
        assert _edit(as_user(cast.owner), cast, CallStart.FASTEST_PICKUP).status_code == 302

    cast.client_account.refresh_from_db()
    assert cast.client_account.call_start == CallStart.FASTEST_PICKUP
    for number in numbers:
        tied = sandbox_phone_number(number.vapi_id).get("assistantId")
        if number.assistant.client == cast.client_account:
            assert tied == number.assistant.vapi_id
        else:  # another client keeps the caller context
            assert tied is None
    page = as_user(cast.owner).get(f"/a/{cast.agency.slug}/phone-numbers/").content.decode()
    assert "Tied to its assistant in Vapi (fastest pickup)" in page and "Vapi asks AgencyHub per call" in page

    # Back to caller context: Vapi's API cannot untie the number, so it is said, not silently assumed.
    with django_capture_on_commit_callbacks(execute=True):
        _edit(as_user(cast.owner), cast, CallStart.CALLER_CONTEXT)
    assert "is still tied to assistant" in caplog.text and "remove it in Vapi's dashboard" in caplog.text


@pytest.mark.parametrize("provider", sorted(PHONE_NUMBER_UPDATE_SCHEMAS))
def test_the_tied_number_update_fits_every_providers_update_dto(cast, provider):
    cast.client_account.call_start = CallStart.FASTEST_PICKUP
    cast.client_account.save()
    assistant = AssistantFactory(client=cast.client_account, vapi_id="vapi-1")
    payload = vapi_org.phone_number_update_payload(agency=cast.agency, assistant=assistant)
    assert payload["assistantId"] == "vapi-1"
    schema = phone_number_update_schema(provider=provider)
    assert validation_errors(schema_name=schema, instance=payload, strict=True) == []


def test_a_fastest_pickup_call_gets_the_caller_context_in_its_first_tool_answer_only(cast, client):
    live = live_call_setup(cast)
    live.client_account.call_start = CallStart.FASTEST_PICKUP
    live.client_account.save()
    store.create("contact", {"id": "ct-jane", "firstName": "Jane", "phone": CALLER}, parent_id="sbxLocChicago0000001")
    ask = ("tc-1", "check_availability", {})

    first = tool_results(vapi_post(client, live.url, tool_calls(ask, call_id="call-tied")))[0]["result"]
    second = tool_results(vapi_post(client, live.url, tool_calls(("tc-2", *ask[1:]), call_id="call-tied")))[0]

    assert first.startswith("(Context for you, not to read out: The caller is Jane, a known contact, with no upcoming")
    assert "Today is " in first and "opening hours: Monday to Friday 9 AM to 5 PM" in first
    assert "\n" not in first
    # The same question again: the same availability answer, without the context.
    assert "Context for you" not in second["result"] and first.endswith(") " + second["result"])


@pytest.mark.parametrize("call_start", list(CallStart))
def test_a_call_that_started_with_the_caller_context_gets_none_in_its_tool_answers(cast, client, call_start):
    # Also for the fastest pickup: a number not tied yet (Vapi refused the change) still asks at call start.
    live = live_call_setup(cast)
    live.client_account.call_start = call_start
    live.client_account.save()
    PhoneNumber.objects.create(agency=live.agency, vapi_id="pn-1", number="+13125550100", assistant=live.assistant)
    store.create("contact", {"id": "ct-jane", "firstName": "Jane", "phone": CALLER}, parent_id="sbxLocChicago0000001")
    start = {
        "type": "assistant-request",
        "call": {"id": "call-1", "phoneNumberId": "pn-1", "customer": {"number": CALLER}},
    }
    assert (
        vapi_post(client, live.url, start).json()["assistantOverrides"]["variableValues"]["caller_first_name"] == "Jane"
    )
    results = tool_results(
        vapi_post(client, live.url, tool_calls(("tc-1", "check_availability", {}), call_id="call-1"))
    )
    assert "Context for you" not in results[0]["result"]
