"""The Vapi client over real HTTP (mocked with respx): bearer auth, retries, Vapi's messages in typed errors."""

import json
from datetime import UTC, datetime

import httpx
import pytest
import respx

from integrations.http import ProviderAuthError, ProviderServerError, ProviderTimeout, ProviderValidationError
from integrations.vapi.client import VapiClient
from integrations.vapi.errors import (
    VapiAuthError,
    VapiNotFound,
    VapiOutcomeUnknown,
    VapiRateLimited,
    VapiUnavailable,
    VapiValidationError,
)
from tests.clock import install_fake_clock

BASE = "https://vapi.test"
KEY = "private-key-of-agency-a"
ASSISTANT = {
    "id": "a1",
    "orgId": "o1",
    "createdAt": "2030-01-01T00:00:00.000Z",
    "updatedAt": "2030-01-01T00:00:00.000Z",
}


@pytest.fixture(autouse=True)
def real_http(settings):
    settings.SANDBOX = False
    settings.VAPI_API_BASE_URL = BASE


@pytest.fixture
def clock(monkeypatch):
    return install_fake_clock(monkeypatch, "integrations.vapi.client")


@pytest.fixture
def vapi_api():
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        yield router


def test_every_call_carries_the_agencys_private_key_as_a_bearer_token(vapi_api):
    route = vapi_api.post("/assistant").respond(201, json=ASSISTANT)

    with VapiClient(api_key=KEY) as vapi:
        created = vapi.create_assistant(payload={"name": "Front desk"})

    assert created == ASSISTANT
    sent = route.calls.last.request
    assert sent.headers["Authorization"] == f"Bearer {KEY}"
    assert json.loads(sent.content) == {"name": "Front desk"}


@pytest.mark.parametrize(
    ("method", "kwargs", "http_method", "path", "answer"),
    [
        ("get_assistant", {"assistant_id": "a1"}, "GET", "/assistant/a1", ASSISTANT),
        ("update_assistant", {"assistant_id": "a1", "payload": {"name": "x"}}, "PATCH", "/assistant/a1", ASSISTANT),
        ("delete_assistant", {"assistant_id": "a1"}, "DELETE", "/assistant/a1", ASSISTANT),
        ("list_assistants", {"limit": 5}, "GET", "/assistant", [ASSISTANT]),
        ("list_phone_numbers", {}, "GET", "/phone-number", []),
        (
            "update_phone_number",
            {"phone_number_id": "p1", "payload": {"assistantId": "a1"}},
            "PATCH",
            "/phone-number/p1",
            {},
        ),
        ("get_call", {"call_id": "c1"}, "GET", "/call/c1", {"id": "c1"}),
    ],
)
def test_each_method_calls_vapis_documented_endpoint(vapi_api, method, kwargs, http_method, path, answer):
    route = vapi_api.route(method=http_method, path=path).respond(200, json=answer)

    with VapiClient(api_key=KEY) as vapi:
        assert getattr(vapi, method)(**kwargs) == answer

    assert route.called


def test_list_calls_sends_vapis_filter_names(vapi_api):
    route = vapi_api.get("/call").respond(200, json=[])

    with VapiClient(api_key=KEY) as vapi:
        vapi.list_calls(assistant_id="a1", created_at_gt=datetime(2030, 1, 1, tzinfo=UTC), limit=1000)

    params = route.calls.last.request.url.params
    assert dict(params) == {"assistantId": "a1", "createdAtGt": "2030-01-01T00:00:00+00:00", "limit": "1000"}


def test_a_bad_key_raises_an_auth_error_with_vapis_message(vapi_api, clock):
    message = "Invalid Key. Hot tip, you may be using the private key instead of the public key, or vice versa."
    vapi_api.get("/assistant").respond(401, json={"message": message, "error": "Unauthorized", "statusCode": 401})

    with VapiClient(api_key="wrong") as vapi, pytest.raises(VapiAuthError) as raised:
        vapi.list_assistants()

    assert raised.value.message == message
    assert raised.value.status_code == 401
    assert isinstance(raised.value, ProviderAuthError)
    assert clock.sleeps == []


def test_a_400_with_an_array_message_becomes_one_readable_line(vapi_api, clock):
    body = {
        "message": ["property serverUrl should not exist", "name must be shorter than or equal to 40 characters"],
        "error": "Bad Request",
        "statusCode": 400,
    }
    vapi_api.patch("/assistant/a1").respond(400, json=body)

    with VapiClient(api_key=KEY) as vapi, pytest.raises(VapiValidationError) as raised:
        vapi.update_assistant(assistant_id="a1", payload={"serverUrl": "https://old.test"})

    assert raised.value.message == (
        "property serverUrl should not exist; name must be shorter than or equal to 40 characters"
    )
    assert raised.value.body == body
    assert isinstance(raised.value, ProviderValidationError)
    assert clock.sleeps == []


def test_an_unknown_assistant_raises_not_found(vapi_api):
    vapi_api.get("/assistant/gone").respond(404, json={"message": "Not Found", "error": "Not Found", "statusCode": 404})

    with VapiClient(api_key=KEY) as vapi, pytest.raises(VapiNotFound, match="Not Found"):
        vapi.get_assistant(assistant_id="gone")


def test_no_answer_in_time_is_a_timeout_of_unknown_outcome(vapi_api):
    vapi_api.get("/assistant/a1").mock(side_effect=httpx.ReadTimeout("read timed out"))

    # Sent, and the answer lost: Vapi may have acted on it (a create is looked up before it is sent again).
    with VapiClient(api_key=KEY) as vapi, pytest.raises(VapiOutcomeUnknown, match="no answer within") as raised:
        vapi.get_assistant(assistant_id="a1")
    assert isinstance(raised.value, ProviderTimeout)


def test_a_5xx_is_retried_until_vapi_answers(vapi_api, clock):
    route = vapi_api.patch("/assistant/asst-1")
    route.side_effect = [
        httpx.Response(503, json={"message": "Service Unavailable", "statusCode": 503}),
        httpx.Response(502, text="Bad Gateway"),
        httpx.Response(200, json=ASSISTANT),
    ]

    with VapiClient(api_key=KEY) as vapi:
        assert vapi.update_assistant(assistant_id="asst-1", payload={"name": "Front desk"}) == ASSISTANT

    assert route.call_count == 3
    assert len(clock.sleeps) == 2


def test_a_create_answered_with_5xx_is_not_sent_again(vapi_api, clock):
    """Vapi may have created the assistant before failing: a second POST would make a duplicate."""
    route = vapi_api.post("/assistant")
    route.side_effect = [httpx.Response(502, text="Bad Gateway"), httpx.Response(201, json=ASSISTANT)]

    with VapiClient(api_key=KEY) as vapi, pytest.raises(VapiUnavailable):
        vapi.create_assistant(payload={"name": "Front desk"})

    assert route.call_count == 1


def test_a_5xx_that_persists_raises_unavailable_with_vapis_message(vapi_api, clock):
    route = vapi_api.get("/phone-number").respond(
        500, json={"message": "Internal server error", "error": "Internal Server Error", "statusCode": 500}
    )

    with VapiClient(api_key=KEY) as vapi, pytest.raises(VapiUnavailable) as raised:
        vapi.list_phone_numbers()

    assert raised.value.message == "Internal server error"
    assert isinstance(raised.value, ProviderServerError)
    assert route.call_count == 4


def test_retries_stop_at_the_deadline(vapi_api, clock):
    route = vapi_api.get("/assistant").respond(429, headers={"Retry-After": "30"}, json={"message": "Too Many"})

    with VapiClient(api_key=KEY, deadline_seconds=10) as vapi, pytest.raises(VapiRateLimited, match="Too Many"):
        vapi.list_assistants()

    assert route.call_count == 1
    assert clock.sleeps == []


def test_no_connection_raises_unavailable_after_retries(vapi_api, clock):
    route = vapi_api.get("/assistant").mock(side_effect=httpx.ConnectError("connection refused"))

    with VapiClient(api_key=KEY) as vapi, pytest.raises(VapiUnavailable, match="cannot connect"):
        vapi.list_assistants()

    assert route.call_count == 4
