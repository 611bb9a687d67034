"""Importing from the agency's Vapi org and choosing which assistant answers each phone number."""

import pytest

from integrations.vapi.specs import PHONE_NUMBER_UPDATE_SCHEMAS, phone_number_update_schema, validation_errors
from tests.factories import AssistantFactory
from tests.vapi import patched_vapi
from voice.assistants import vapi_org
from voice.live.callstart import UNKNOWN_NUMBER, assistant_request_answer
from voice.models import Assistant, PhoneNumber


def _asked_for(phone_number_id: str) -> dict:
    return {"type": "assistant-request", "call": {"id": "call-ar", "phoneNumberId": phone_number_id}}


REMOTE_NUMBERS = [
    {"id": "pn-1", "number": "+15550001111", "name": "Main line", "assistantId": None, "provider": "vapi"},
    {"id": "pn-2", "number": "+15550002222", "name": "", "assistantId": "vapi-1", "provider": "vapi"},
]


@pytest.fixture
def vapi():
    with patched_vapi() as client_class:
        client = client_class.return_value
        client.list_phone_numbers.return_value = REMOTE_NUMBERS
        yield client


def test_loading_numbers_mirrors_the_vapi_org(keyed, as_user, vapi):
    assistant = AssistantFactory(client=keyed.client_account, vapi_id="vapi-1")
    client = as_user(keyed.staff)
    client.post(f"/a/{keyed.agency.slug}/phone-numbers/")
    assert PhoneNumber.objects.get(vapi_id="pn-2").assistant == assistant
    page = client.get(f"/a/{keyed.agency.slug}/phone-numbers/").content.decode()
    assert "+15550001111" in page and "Main line" in page


def test_assigning_a_number_sends_its_server_and_answers_its_calls_with_the_assistant(keyed, as_user, vapi):
    assistant = AssistantFactory(client=keyed.client_account, vapi_id="vapi-1")
    number = PhoneNumber.objects.create(agency=keyed.agency, vapi_id="pn-1", number="+15550001111")
    url = f"/a/{keyed.agency.slug}/phone-numbers/{number.public_id}/assign/"
    as_user(keyed.staff).post(url, {"assistant_id": str(assistant.public_id)})
    call = vapi.update_phone_number.call_args.kwargs
    assert call["phone_number_id"] == "pn-1"
    # Never pinned in Vapi (a pinned assistantId cannot be cleared): Vapi asks per call.
    assert "assistantId" not in call["payload"]
    assert assistant_request_answer(agency=keyed.agency, message=_asked_for("pn-1"))["assistantId"] == "vapi-1"
    assert call["payload"]["server"] == {
        "url": vapi_org.vapi_endpoint_url(agency=keyed.agency),
        "headers": {"X-Vapi-Secret": keyed.agency.vapi_account.webhook_secret},
    }
    number.refresh_from_db()
    assert number.assistant == assistant
    assert (
        "+15550001111"
        in as_user(keyed.staff).get(f"/a/{keyed.agency.slug}/assistants/{assistant.public_id}/").content.decode()
    )


def test_unassigning_leaves_the_number_asking_agencyhub_per_call(keyed, as_user, vapi):
    assistant = AssistantFactory(client=keyed.client_account, vapi_id="vapi-1")
    number = PhoneNumber.objects.create(agency=keyed.agency, vapi_id="pn-1", assistant=assistant)
    as_user(keyed.staff).post(f"/a/{keyed.agency.slug}/phone-numbers/{number.public_id}/assign/", {"assistant_id": ""})
    assert "assistantId" not in vapi.update_phone_number.call_args.kwargs["payload"]
    number.refresh_from_db()
    assert number.assistant is None
    assert assistant_request_answer(agency=keyed.agency, message=_asked_for("pn-1")) == {"error": UNKNOWN_NUMBER}


@pytest.mark.parametrize("provider", sorted(PHONE_NUMBER_UPDATE_SCHEMAS))
def test_the_number_update_fits_every_providers_update_dto(keyed, provider):
    payload = vapi_org.phone_number_update_payload(agency=keyed.agency)
    schema = phone_number_update_schema(provider=provider)
    assert validation_errors(schema_name=schema, instance=payload, strict=True) == []
    # What the old code sent to unassign: the spec's assistantId is a string, never null.
    assert validation_errors(schema_name=schema, instance={**payload, "assistantId": None}, strict=True)


def test_a_number_pinned_in_vapi_to_another_assistant_is_reported_not_silently_assigned(keyed, as_user, vapi):
    assistant = AssistantFactory(client=keyed.client_account, vapi_id="vapi-1")
    number = PhoneNumber.objects.create(agency=keyed.agency, vapi_id="pn-1", assistant=assistant)
    vapi.update_phone_number.return_value = {"id": "pn-1", "assistantId": "vapi-dashboard-choice"}
    url = f"/a/{keyed.agency.slug}/phone-numbers/{number.public_id}/assign/"
    page = as_user(keyed.staff).post(url, {"assistant_id": ""}, follow=True).content.decode()
    assert "straight to its assistant vapi-dashboard-choice" in page
    number.refresh_from_db()
    assert number.assistant == assistant


def test_a_sip_address_of_any_length_is_loaded(keyed, as_user, vapi):
    sip = "sip:" + "reception-desk-" * 19 + "@agency.sip.vapi.ai"
    assert len(sip) > 300
    vapi.list_phone_numbers.return_value = [{"id": "pn-sip", "sipUri": sip, "provider": "vapi"}]
    client = as_user(keyed.staff)
    assert client.post(f"/a/{keyed.agency.slug}/phone-numbers/").status_code == 302
    assert PhoneNumber.objects.get(vapi_id="pn-sip").number == sip
    assert sip in client.get(f"/a/{keyed.agency.slug}/phone-numbers/").content.decode()


def test_rotating_the_secret_reaches_unassigned_numbers_too(keyed, vapi):
    assistant = AssistantFactory(client=keyed.client_account, vapi_id="vapi-1")
    PhoneNumber.objects.create(agency=keyed.agency, vapi_id="pn-1", assistant=assistant)
    PhoneNumber.objects.create(agency=keyed.agency, vapi_id="pn-2")
    vapi_org.phone_numbers_server_refresh(agency_id=keyed.agency.pk)
    sent = {c.kwargs["phone_number_id"]: c.kwargs["payload"] for c in vapi.update_phone_number.call_args_list}
    secret = keyed.agency.vapi_account.webhook_secret
    assert sorted(sent) == ["pn-1", "pn-2"]
    assert all(payload["server"]["headers"] == {"X-Vapi-Secret": secret} for payload in sent.values())


def test_an_assistant_of_another_agency_cannot_be_assigned(keyed, as_user, vapi):
    foreign = AssistantFactory(client=keyed.client_b, vapi_id="vapi-b")
    number = PhoneNumber.objects.create(agency=keyed.agency, vapi_id="pn-1")
    url = f"/a/{keyed.agency.slug}/phone-numbers/{number.public_id}/assign/"
    as_user(keyed.owner).post(url, {"assistant_id": str(foreign.public_id)})
    vapi.update_phone_number.assert_not_called()
    number.refresh_from_db()
    assert number.assistant is None


def test_import_lists_vapi_assistants_and_attaches_one_to_a_client(
    keyed, as_user, vapi, django_capture_on_commit_callbacks
):
    remote = {
        "id": "vapi-remote",
        "name": "Old receptionist",
        "firstMessage": "Hi there",
        "model": {"provider": "openai", "model": "gpt-4o-mini", "messages": [{"role": "system", "content": "Be kind"}]},
        "voice": {"provider": "11labs", "voiceId": "custom-voice-123"},
        "transcriber": {"provider": "deepgram", "model": "nova-2", "language": "en"},
    }
    vapi.list_assistants.return_value = [remote]
    vapi.get_assistant.return_value = remote
    client = as_user(keyed.staff)
    url = f"/a/{keyed.agency.slug}/vapi/import/"
    assert "Old receptionist" in client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"vapi_id": "vapi-remote", "client_id": str(keyed.other_client.public_id)})
    assistant = Assistant.objects.get(vapi_id="vapi-remote")
    assert response.status_code == 302 and str(assistant.public_id) in response.url
    assert (assistant.client, assistant.system_prompt, assistant.voice_id) == (
        keyed.other_client,
        "Be kind",
        "custom-voice-123",
    )
    # The first push attaches this app's server URL and tools to the imported assistant.
    pushed = vapi.update_assistant.call_args.kwargs
    assert pushed["assistant_id"] == "vapi-remote" and "server" in pushed["payload"]
    assert "Attached to A Physio" in client.get(url).content.decode()
    edit = client.get(f"/a/{keyed.agency.slug}/assistants/{assistant.public_id}/edit/")
    assert edit.status_code == 200 and "custom-voice-123" in edit.content.decode()


def test_import_page_without_a_key_points_to_settings(cast, as_user):
    page = as_user(cast.staff).get(f"/a/{cast.agency.slug}/vapi/import/").content.decode()
    assert "Vapi private API key" in page


@pytest.mark.parametrize("who", ["outsider", "client_admin"])
def test_import_and_phone_pages_are_404_to_strangers(keyed, as_user, vapi, who):
    number = PhoneNumber.objects.create(agency=keyed.agency, vapi_id="pn-1")
    client = as_user(getattr(keyed, who))
    for url in (
        f"/a/{keyed.agency.slug}/vapi/import/",
        f"/a/{keyed.agency.slug}/phone-numbers/",
        f"/a/{keyed.agency.slug}/phone-numbers/{number.public_id}/assign/",
    ):
        assert client.get(url).status_code == 404
        assert client.post(url).status_code == 404
    vapi.update_phone_number.assert_not_called()


def test_import_all_runs_as_a_job_and_reports_each_assistant(keyed, as_user, vapi, django_capture_on_commit_callbacks):
    from integrations.models import Job, JobStatus
    from integrations.vapi.errors import VapiError

    AssistantFactory(client=keyed.client_account, vapi_id="vapi-attached")
    remote = [
        {"id": "vapi-attached", "name": "Already here"},
        {"id": "vapi-a", "name": "Morning desk"},
        {"id": "vapi-b", "name": "Evening desk"},
        {"id": "vapi-gone", "name": "Deleted meanwhile"},
    ]
    vapi.list_assistants.return_value = remote

    def get_assistant(*, assistant_id):
        if assistant_id == "vapi-gone":
            raise VapiError("Couldn't find assistant")
        return next(item for item in remote if item["id"] == assistant_id)

    vapi.get_assistant.side_effect = get_assistant
    client = as_user(keyed.staff)
    url = f"/a/{keyed.agency.slug}/vapi/import/"
    assert "Import all 3 unattached assistants into" in client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"action": "import_all", "client_id": str(keyed.other_client.public_id)})
    job = Job.objects.get(kind="vapi_import")
    assert response.status_code == 302 and response.url.endswith(f"/jobs/{job.public_id}/")
    assert (job.status, job.done, job.total, job.percent) == (JobStatus.DONE, 3, 3, 100)
    imported = Assistant.objects.filter(client=keyed.other_client).values_list("name", flat=True)
    assert sorted(imported) == ["Evening desk", "Morning desk"]
    page = client.get(response.url).content.decode()
    assert "2 assistants imported into A Physio." in page and "Deleted meanwhile: Vapi answered" in page
    assert "every 1s" not in page


def test_import_all_needs_a_client_of_this_agency(keyed, as_user, vapi):
    from integrations.models import Job

    response = as_user(keyed.staff).post(
        f"/a/{keyed.agency.slug}/vapi/import/", {"action": "import_all", "client_id": str(keyed.client_b.public_id)}
    )
    assert response.status_code == 302 and not Job.objects.exists()
