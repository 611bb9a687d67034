"""The Vapi sandbox through the real client: Vapi's shapes and refusals, every answer checked against the spec."""

import copy

import httpx
import pytest

from integrations.vapi import specs
from integrations.vapi.client import VapiClient
from integrations.vapi.errors import VapiAuthError, VapiNotFound, VapiValidationError
from integrations.vapi.sandbox import (
    VapiSandboxTransport,
    sandbox_api_key,
    sandbox_assistant,
    sandbox_call_record,
    sandbox_phone_number,
    sandbox_seed_phone_numbers,
)
from tests.integrations.vapi.payloads import ASSISTANT

ANSWER_SCHEMAS = {"/assistant": "Assistant", "/phone-number": "VapiPhoneNumber", "/call": "Call"}


@pytest.fixture(autouse=True)
def spec_strays(settings, db, monkeypatch):
    """Turns the sandbox on and fails the test if a successful answer strays from Vapi's spec."""
    settings.SANDBOX = True
    strays = []
    answer = VapiSandboxTransport.handle_request

    def checked(transport, request):
        response = answer(transport, request)
        schema_name = ANSWER_SCHEMAS.get("/" + request.url.path.split("/")[1])
        if response.is_success and schema_name:
            body = response.json()
            for item in body if isinstance(body, list) else [body]:
                strays.extend(specs.validation_errors(schema_name=schema_name, instance=item, strict=True))
        return response

    monkeypatch.setattr(VapiSandboxTransport, "handle_request", checked)
    yield strays
    assert strays == []


@pytest.fixture
def vapi():
    with VapiClient(api_key=sandbox_api_key()) as client:
        yield client


def test_a_created_assistant_gets_vapis_read_only_fields_and_reads_back_as_sent(vapi):
    created = vapi.create_assistant(payload=ASSISTANT)

    assert {"id", "orgId", "createdAt", "updatedAt"} <= set(created)
    assert vapi.get_assistant(assistant_id=created["id"]) == created
    assert {key: sandbox_assistant(created["id"])[key] for key in ASSISTANT} == ASSISTANT
    assert [assistant["id"] for assistant in vapi.list_assistants()] == [created["id"]]


def test_patch_replaces_each_nested_object_it_receives_whole(vapi):
    created = vapi.create_assistant(payload=ASSISTANT)

    updated = vapi.update_assistant(
        assistant_id=created["id"],
        payload={
            "model": {"provider": "openai", "model": "gpt-4o-mini"},
            "voice": {"provider": "vapi", "voiceId": "Elliot"},
        },
    )

    stored = sandbox_assistant(created["id"])
    assert stored["model"] == {"provider": "openai", "model": "gpt-4o-mini"}
    assert stored["voice"] == {"provider": "vapi", "voiceId": "Elliot"}
    assert stored["transcriber"] == ASSISTANT["transcriber"]
    assert stored["firstMessage"] == ASSISTANT["firstMessage"]
    assert updated == stored


def test_unknown_properties_are_refused_with_vapis_400_and_nothing_is_stored(vapi):
    payload = {**ASSISTANT, "serverUrl": "https://old.test", "model": {**ASSISTANT["model"], "functions": []}}

    with pytest.raises(VapiValidationError) as raised:
        vapi.create_assistant(payload=payload)

    assert raised.value.status_code == 400
    assert raised.value.body == {
        "message": ["property serverUrl should not exist", "model.property functions should not exist"],
        "error": "Bad Request",
        "statusCode": 400,
    }
    assert vapi.list_assistants() == []


def test_read_only_properties_sent_back_in_a_patch_are_refused(vapi):
    created = vapi.create_assistant(payload=ASSISTANT)
    echoed = {**copy.deepcopy(created), "name": "Renamed"}

    with pytest.raises(VapiValidationError) as raised:
        vapi.update_assistant(assistant_id=created["id"], payload=echoed)

    assert raised.value.body["message"] == [
        "property id should not exist",
        "property orgId should not exist",
        "property createdAt should not exist",
        "property updatedAt should not exist",
    ]
    assert sandbox_assistant(created["id"])["name"] == ASSISTANT["name"]


def test_a_body_the_spec_refuses_is_400(vapi):
    with pytest.raises(VapiValidationError, match="is too long"):
        vapi.create_assistant(payload={"name": "x" * 41})


@pytest.mark.parametrize(
    "authorization", [None, "Bearer not-the-sandbox-key", sandbox_api_key()], ids=["missing", "wrong", "no-scheme"]
)
def test_a_bad_or_missing_key_is_401_in_vapis_shape(authorization):
    headers = {"Authorization": authorization} if authorization else {}
    transport = VapiSandboxTransport()
    with httpx.Client(transport=transport, base_url="https://api.vapi.ai", headers=headers) as http:
        response = http.get("/assistant")

    assert response.status_code == 401
    assert response.json()["error"] == "Unauthorized"
    assert response.json()["statusCode"] == 401
    assert response.json()["message"].startswith("Invalid Key")


def test_the_client_raises_auth_error_for_a_wrong_key():
    with VapiClient(api_key="agency-typed-the-public-key") as vapi, pytest.raises(VapiAuthError, match="Invalid Key"):
        vapi.list_assistants()


def test_a_deleted_assistant_is_gone(vapi):
    created = vapi.create_assistant(payload=ASSISTANT)

    assert vapi.delete_assistant(assistant_id=created["id"])["id"] == created["id"]

    with pytest.raises(VapiNotFound):
        vapi.get_assistant(assistant_id=created["id"])


def test_seeded_phone_numbers_are_e164_and_seeding_twice_adds_none(vapi):
    first = sandbox_seed_phone_numbers(count=2)
    second = sandbox_seed_phone_numbers(count=2)

    listed = vapi.list_phone_numbers()
    assert first == second
    assert sorted(number["id"] for number in listed) == sorted(number["id"] for number in first)
    assert all(number["number"].startswith("+1") and len(number["number"]) == 12 for number in listed)


def test_assigning_a_phone_number_to_an_assistant_is_kept(vapi):
    number = sandbox_seed_phone_numbers(count=1)[0]
    assistant = vapi.create_assistant(payload=ASSISTANT)
    server = {"url": "https://agencyhub.test/api/webhooks/vapi/a1/", "headers": {"X-Vapi-Secret": "s3cret"}}

    vapi.update_phone_number(phone_number_id=number["id"], payload={"assistantId": assistant["id"], "server": server})

    stored = sandbox_phone_number(number["id"])
    assert stored["assistantId"] == assistant["id"]
    assert stored["server"] == server
    assert stored["number"] == number["number"]


def test_a_phone_number_is_unassigned_with_a_null_assistant_id(vapi):
    number = sandbox_seed_phone_numbers(count=1)[0]
    assistant = vapi.create_assistant(payload=ASSISTANT)
    vapi.update_phone_number(phone_number_id=number["id"], payload={"assistantId": assistant["id"]})

    answer = vapi.update_phone_number(phone_number_id=number["id"], payload={"assistantId": None})

    assert "assistantId" not in answer
    assert "assistantId" not in sandbox_phone_number(number["id"])


def test_a_phone_number_cannot_point_at_an_unknown_assistant_or_take_unknown_fields(vapi):
    number = sandbox_seed_phone_numbers(count=1)[0]

    with pytest.raises(VapiValidationError) as raised:
        vapi.update_phone_number(phone_number_id=number["id"], payload={"assistantId": "nope", "serverUrl": "x"})

    assert raised.value.body["message"] == [
        "property serverUrl should not exist",
        "Couldn't Find Assistant. `assistantId` Not Found.",
    ]
    assert "assistantId" not in sandbox_phone_number(number["id"])


def test_stored_calls_are_listed_filtered_and_updated_in_place(vapi):
    ringing = sandbox_call_record(call={"id": "call-1", "assistantId": "a1", "type": "inboundPhoneCall"})
    sandbox_call_record(call={"id": "call-2", "assistantId": "a2", "type": "inboundPhoneCall"})
    ended = sandbox_call_record(call={"id": "call-1", "assistantId": "a1", "status": "ended"})

    assert vapi.get_call(call_id="call-1") == ended
    assert ended["createdAt"] == ringing["createdAt"]
    assert ended["status"] == "ended"
    assert [listed["id"] for listed in vapi.list_calls(assistant_id="a1")] == ["call-1"]
    assert len(vapi.list_calls(limit=1)) == 1


def test_a_limit_beyond_vapis_maximum_is_400(vapi):
    with pytest.raises(VapiValidationError, match="limit must not be greater than 1000"):
        vapi.list_assistants(limit=1001)
