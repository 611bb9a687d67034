"""Pushing an assistant to Vapi: what staff see when Vapi refuses or fails, and that nothing typed is lost."""

from unittest import mock

import pytest

from integrations.vapi.client import vapi_error_message
from integrations.vapi.errors import VapiAuthError, VapiTimeout, VapiUnavailable, VapiValidationError
from tests.factories import AssistantFactory
from tests.vapi import patched_vapi
from tests.voice.assistants.forms import form_data
from voice.models import Assistant, PhoneNumber, SyncStatus


@pytest.fixture
def vapi():
    with patched_vapi() as client_class:
        yield client_class.return_value


@pytest.fixture(autouse=True)
def _no_ghl():
    with mock.patch("voice.assistants.selectors.client_calendars", return_value=[]):
        yield


def _save_through_the_form(cast, as_user, capture, **overrides) -> Assistant:
    url = f"/a/{cast.agency.slug}/assistants/new/{cast.client_account.public_id}/"
    with capture(execute=True):
        as_user(cast.staff).post(url, form_data(**{"calendar_cal-clean": "", **overrides}))
    return Assistant.objects.get(client=cast.client_account)


def _page(cast, as_user, assistant) -> str:
    return as_user(cast.staff).get(f"/a/{cast.agency.slug}/assistants/{assistant.public_id}/").content.decode()


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        (
            VapiAuthError(
                "Invalid Key. Hot tip, you may be using the private key instead of the public key, or vice versa.",
                status_code=401,
            ),
            "Invalid Key",
        ),
        (
            VapiValidationError(
                vapi_error_message(
                    {
                        "message": [
                            "property foo should not exist",
                            "name must be shorter than or equal to 40 characters",
                        ],
                        "error": "Bad Request",
                        "statusCode": 400,
                    }
                ),
                status_code=400,
            ),
            "property foo should not exist; name must be shorter than or equal to 40 characters",
        ),
        (VapiTimeout("Vapi did not answer within 20 seconds", status_code=None), "did not answer within 20 seconds"),
    ],
    ids=["bad-key-401", "bad-request-400-array", "timeout"],
)
def test_a_failed_push_shows_vapis_message_and_keeps_the_typed_data(
    keyed, as_user, vapi, django_capture_on_commit_callbacks, error, shown
):
    vapi.create_assistant.side_effect = error
    assistant = _save_through_the_form(
        keyed, as_user, django_capture_on_commit_callbacks, system_prompt="Typed by hand"
    )
    assert assistant.sync_status == SyncStatus.FAILED
    assert shown in assistant.sync_error
    assert assistant.system_prompt == "Typed by hand" and assistant.vapi_id == ""
    page = _page(keyed, as_user, assistant)
    assert "push to Vapi failed" in page and shown.replace("'", "&#x27;") in page
    edit = as_user(keyed.staff).get(f"/a/{keyed.agency.slug}/assistants/{assistant.public_id}/edit/").content.decode()
    assert "Typed by hand" in edit


def test_a_5xx_then_success_on_retry_ends_synced(keyed, as_user, vapi, django_capture_on_commit_callbacks):
    vapi.create_assistant.side_effect = [VapiUnavailable("Service Unavailable", status_code=503), {"id": "vapi-9"}]
    assistant = _save_through_the_form(keyed, as_user, django_capture_on_commit_callbacks)
    assert (assistant.sync_status, assistant.sync_error) == (SyncStatus.FAILED, "Service Unavailable")

    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(keyed.staff).post(f"/a/{keyed.agency.slug}/assistants/{assistant.public_id}/push/")
    assert response.status_code == 302
    assistant.refresh_from_db()
    assert (assistant.sync_status, assistant.sync_error, assistant.vapi_id) == (SyncStatus.SYNCED, "", "vapi-9")
    assert assistant.synced_at is not None
    assert "vapi-9" in _page(keyed, as_user, assistant)


def test_a_failed_patch_keeps_the_vapi_id_and_the_edit(keyed, as_user, vapi, django_capture_on_commit_callbacks):
    vapi.create_assistant.return_value = {"id": "vapi-1"}
    assistant = _save_through_the_form(keyed, as_user, django_capture_on_commit_callbacks)
    vapi.update_assistant.side_effect = VapiValidationError("voice.voiceId must be a string", status_code=400)
    with django_capture_on_commit_callbacks(execute=True):
        as_user(keyed.staff).post(
            f"/a/{keyed.agency.slug}/assistants/{assistant.public_id}/edit/", form_data(name="Renamed desk")
        )
    assistant.refresh_from_db()
    assert (assistant.name, assistant.vapi_id, assistant.sync_status) == ("Renamed desk", "vapi-1", SyncStatus.FAILED)
    assert assistant.sync_error == "voice.voiceId must be a string"


def test_without_a_key_the_push_fails_with_a_clear_message(cast, as_user, django_capture_on_commit_callbacks):
    assistant = _save_through_the_form(cast, as_user, django_capture_on_commit_callbacks)
    assert assistant.sync_status == SyncStatus.FAILED
    assert "Vapi private API key" in assistant.sync_error


def test_pending_until_the_task_runs(keyed, as_user, vapi):
    url = f"/a/{keyed.agency.slug}/assistants/new/{keyed.client_account.public_id}/"
    response = as_user(keyed.staff).post(url, form_data(**{"calendar_cal-clean": ""}))
    page = as_user(keyed.staff).get(response.url).content.decode()
    assert "Pushing to Vapi" in page and 'hx-trigger="every 2s"' in page


def test_demo_seed_pushes_one_assistant_per_client_to_the_sandbox_once(cast, settings):
    from integrations.vapi.sandbox import sandbox_assistant, sandbox_phone_number
    from voice.demo import demo_assistants_seed
    from voice.live.callstart import assistant_request_answer

    settings.SANDBOX = True
    first = demo_assistants_seed(agency=cast.agency)
    again = demo_assistants_seed(agency=cast.agency)
    assert [a.pk for a in first] == [a.pk for a in again]
    assert Assistant.objects.filter(client__agency=cast.agency).count() == 2
    for assistant in again:
        assert assistant.sync_status == SyncStatus.SYNCED, assistant.sync_error
        stored = sandbox_assistant(assistant.vapi_id)
        assert stored["server"]["headers"]["X-Vapi-Secret"] == cast.agency.vapi_account.webhook_secret
        # Vapi retries a non-2xx only with a plan: an event we could not store (database down) comes again.
        assert stored["server"]["backoffPlan"] == {"type": "exponential", "maxRetries": 6, "baseDelaySeconds": 1}
        assert stored["metadata"]["clientId"] == str(assistant.client.public_id)

    # Each demo assistant answers one sandbox number, in the sandbox and here.
    numbers = PhoneNumber.objects.filter(agency=cast.agency)
    assert sorted(n.assistant_id for n in numbers) == sorted(a.pk for a in again)
    for number in numbers:
        in_sandbox = sandbox_phone_number(number.vapi_id)
        # Vapi asks this app per call which assistant answers (assistant-request); nothing is pinned there.
        assert "assistantId" not in in_sandbox
        assert in_sandbox["server"]["headers"]["X-Vapi-Secret"] == cast.agency.vapi_account.webhook_secret
        message = {"type": "assistant-request", "call": {"id": f"demo-{number.pk}", "phoneNumberId": number.vapi_id}}
        answer = assistant_request_answer(agency=cast.agency, message=message)
        assert answer["assistantId"] == number.assistant.vapi_id


def test_push_all_is_a_job_that_reports_each_assistant(keyed, as_user, vapi, django_capture_on_commit_callbacks):
    from integrations.models import Job, JobStatus

    good = AssistantFactory(client=keyed.client_account, vapi_id="vapi-good", name="Day desk")
    refused = AssistantFactory(client=keyed.other_client, vapi_id="vapi-bad", name="Night desk")

    def update_assistant(*, assistant_id, payload):
        if assistant_id == "vapi-bad":
            raise VapiValidationError("voice.voiceId must be a string", status_code=400)
        return {"id": assistant_id}

    vapi.update_assistant.side_effect = update_assistant
    client = as_user(keyed.staff)
    assert "Push all to Vapi" in client.get(f"/a/{keyed.agency.slug}/assistants/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/a/{keyed.agency.slug}/assistants/push-all/")
    job = Job.objects.get(kind="assistants_push")
    assert response.url.endswith(f"/jobs/{job.public_id}/")
    assert (job.status, job.done, job.total) == (JobStatus.DONE, 2, 2)
    page = client.get(response.url).content.decode()
    assert "1 of 2 assistants pushed to Vapi." in page and "Night desk: voice.voiceId must be a string" in page
    good.refresh_from_db(), refused.refresh_from_db()
    assert (good.sync_status, refused.sync_status) == (SyncStatus.SYNCED, SyncStatus.FAILED)
    assert as_user(keyed.outsider).post(f"/a/{keyed.agency.slug}/assistants/push-all/").status_code == 404
