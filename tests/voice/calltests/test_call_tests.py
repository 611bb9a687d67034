"""A failed call becomes a test: saved from the call page, replayed against the GHL sandbox through the real
endpoint, and run before every push of a new revision, which it holds back (with the diff) when an outcome differs."""

from datetime import timedelta
from unittest import mock

import pytest
from django.core.cache import cache
from django.utils import timezone

from integrations.models import Job
from integrations.sandbox.models import SandboxObject
from tests.vapi import next_weekday, tool_calls, tool_results, vapi_post
from tests.voice.assistants.forms import form_data
from voice.calltests.replay import call_test_replay
from voice.models import Booking, Call, CallTest, OutcomeKind, SyncStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def capture(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


@pytest.fixture
def booked_call(live, client):
    """A call of the live assistant that checked Tuesday's cleanings, then booked Tuesday at 9:30 AM."""
    tuesday = next_weekday("tuesday")
    asked = {"date": tuesday.isoformat(), "service": "cleaning", "part_of_day": "morning"}
    book = {"start_time": f"{tuesday.isoformat()}T09:30:00", "name": "Maria Gonzalez", "service": "cleaning"}
    tool_results(vapi_post(client, live.url, tool_calls(("t1", "check_availability", asked), call_id="call-src")))
    (booked,) = tool_results(
        vapi_post(client, live.url, tool_calls(("t2", "book_appointment", book), call_id="call-src"))
    )
    assert booked["result"].startswith("You're booked")
    live.call = Call.objects.get(vapi_call_id="call-src")
    return live


def _calendar_ids(live) -> dict[str, str]:
    return {c.spoken_name: c.calendar_id for c in live.assistant.calendars.all()}


def _edit(live, as_user, capture, **overrides):
    """Posts the assistant's edit form as staff (both calendars kept unless overridden); the push check's job
    runs as a worker would once the request has committed. Returns the job's page."""
    ids = _calendar_ids(live)
    data = form_data(**{f"calendar_{ids['cleaning']}": "cleaning", f"calendar_{ids['consultation']}": "consultation"})
    data.pop("calendar_cal-clean"), data.pop("calendar_cal-consult")
    data.update(overrides)
    with capture(execute=True):
        response = as_user(live.staff).post(f"/a/{live.agency.slug}/assistants/{live.assistant.public_id}/edit/", data)
    assert response.status_code == 302 and "/jobs/" in response.url
    return as_user(live.staff).get(response.url).content.decode()


def _check_page(live, as_user) -> str:
    """The push check's own page, where the job's Continue leads."""
    job = Job.objects.get(kind="assistant_push_check")
    response = as_user(live.staff).get(job.back_url)
    assert response.status_code == 200
    return response.content.decode()


def _save_test(live, as_user, **expected) -> CallTest:
    url = f"/a/{live.agency.slug}/calls/{live.call.public_id}/save-test/"
    expected = {"expected_0": "offered", "expected_1": "booked", **expected}  # what the call got
    response = as_user(live.staff).post(url, {"name": "Books 9:30 cleaning", **expected})
    assert response.status_code == 302, response.content.decode()[:2000]
    return CallTest.objects.get()


def test_staff_save_a_call_as_a_test_from_its_page_with_the_outcome_each_step_should_have(booked_call, as_user):
    live = booked_call
    page = as_user(live.staff).get(f"/a/{live.agency.slug}/calls/{live.call.public_id}/").content.decode()
    assert "Save as a test" in page
    portal = as_user(live.client_admin).get(f"/c/{live.client_account.public_id}/calls/{live.call.public_id}/")
    assert portal.status_code == 200 and "Save as a test" not in portal.content.decode()
    form = as_user(live.staff).get(f"/a/{live.agency.slug}/calls/{live.call.public_id}/save-test/").content.decode()
    # By default each step expects what the call got.
    assert '<option value="offered" selected>' in form and '<option value="booked" selected>' in form

    test = _save_test(live, as_user, expected_0="offered", expected_1="refused")

    assert test.name == "Books 9:30 cleaning" and test.assistant == live.assistant and test.caller_number
    steps = list(test.steps.all())
    assert [s.tool_name for s in steps] == ["check_availability", "book_appointment"]
    assert steps[1].arguments["start_time"].endswith("T09:30:00")
    assert steps[1].heard.startswith("You're booked")
    assert [s.heard_kind for s in steps] == [OutcomeKind.OFFERED, OutcomeKind.BOOKED]
    assert [s.expected_kind for s in steps] == [OutcomeKind.OFFERED, OutcomeKind.REFUSED]
    listed = as_user(live.staff).get(f"/a/{live.agency.slug}/assistants/{live.assistant.public_id}/tests/")
    assert "Books 9:30 cleaning" in listed.content.decode() and "Not run yet" in listed.content.decode()


def test_run_now_replays_the_test_in_the_sandbox_passes_and_leaves_nothing_behind(booked_call, as_user, capture):
    live = booked_call
    test = _save_test(live, as_user)
    before = (Call.objects.count(), Booking.objects.count(), SandboxObject.objects.count())

    with capture(execute=True):
        started = as_user(live.staff).post(f"/a/{live.agency.slug}/assistants/{live.assistant.public_id}/tests/run/")
    progress = as_user(live.staff).get(started.url).content.decode()

    test.refresh_from_db()
    assert test.last_passed is True and test.last_error == "" and test.last_run_at
    # The booked slot is free again in the sandbox rewound to the call's moment: booked again, as expected.
    assert [step["got"] for step in test.last_result] == ["offered", "booked"]
    assert test.last_result[1]["heard"].startswith("You're booked")
    assert (Call.objects.count(), Booking.objects.count(), SandboxObject.objects.count()) == before
    assert "100%" in progress and "All 1 test passed." in progress
    listed = as_user(live.staff).get(f"/a/{live.agency.slug}/assistants/{live.assistant.public_id}/tests/")
    assert "Passed" in listed.content.decode()


def test_a_revision_whose_replay_differs_is_not_pushed_and_the_push_page_shows_the_diff(booked_call, as_user, capture):
    live = booked_call
    _save_test(live, as_user)
    ids = _calendar_ids(live)
    revisions, sync = live.assistant.revisions.count(), (live.assistant.sync_status, live.assistant.push_requested_at)

    # The new revision books only into the hour-long consultations: 9:30 is no longer a slot there.
    progress = _edit(live, as_user, capture, **{f"calendar_{ids['cleaning']}": "", "name": "Front desk v2"})

    assert "1 of 1 test failed: Books 9:30 cleaning. Not pushed" in progress
    page = _check_page(live, as_user)
    assert "Not pushed yet: 1 of 1 test failed" in page
    assert '<span class="badge text-bg-light border" data-expected>Booked</span>' in page
    assert '<span class="badge text-bg-danger" data-got>Refused</span>' in page
    assert "Heard then:</span> “You&#x27;re booked" in page and "Push anyway" in page
    live.assistant.refresh_from_db()
    assert live.assistant.name != "Front desk v2" and live.assistant.revisions.count() == revisions
    assert sorted(_calendar_ids(live)) == ["cleaning", "consultation"]
    assert (live.assistant.sync_status, live.assistant.push_requested_at) == sync  # no push was requested


def test_live_calls_keep_their_cached_setup_while_a_push_check_replays_another_revision(booked_call, as_user, capture):
    live = booked_call
    _save_test(live, as_user)
    ids = _calendar_ids(live)
    live_auth = cache.get(f"vapi:live:{live.agency.public_id}")  # cached by the call's own tool calls
    assert live_auth is not None

    _edit(live, as_user, capture, **{f"calendar_{ids['cleaning']}": ""})

    # The replays cached the checked revision's setup in a cache of their own, dropped with them.
    assert cache.get(f"vapi:live:{live.agency.public_id}").generation == live_auth.generation


def test_push_anyway_saves_and_pushes_the_revision_the_tests_warned_about(booked_call, as_user, capture):
    live = booked_call
    _save_test(live, as_user)
    ids = _calendar_ids(live)
    revisions = live.assistant.revisions.count()
    _edit(live, as_user, capture, **{f"calendar_{ids['cleaning']}": "", "name": "Front desk v2"})
    check_url = Job.objects.get(kind="assistant_push_check").back_url

    response = as_user(live.staff).post(check_url)

    assert response.status_code == 302
    live.assistant.refresh_from_db()
    assert live.assistant.name == "Front desk v2" and live.assistant.sync_status == SyncStatus.PENDING
    assert live.assistant.revisions.count() == revisions + 1 and list(_calendar_ids(live)) == ["consultation"]
    # Confirming twice saves once; the check page now says it was pushed anyway.
    as_user(live.staff).post(check_url)
    assert live.assistant.revisions.count() == revisions + 1
    assert "Pushed anyway: 1 of 1 test failed" in _check_page(live, as_user)


def test_a_revision_whose_tests_pass_is_pushed_as_before(booked_call, as_user, capture):
    live = booked_call
    test = _save_test(live, as_user)
    revisions = live.assistant.revisions.count()

    progress = _edit(live, as_user, capture, name="Front desk v2")

    assert "All 1 test passed. Saved; pushing to Vapi." in progress
    live.assistant.refresh_from_db()
    assert live.assistant.name == "Front desk v2" and live.assistant.revisions.count() == revisions + 1
    test.refresh_from_db()
    assert test.last_passed is True


def test_a_test_can_be_edited_and_deleted_and_stays_inside_its_agency(booked_call, as_user):
    live = booked_call
    test = _save_test(live, as_user)
    url = f"/a/{live.agency.slug}/call-tests/{test.public_id}/"
    as_user(live.staff).post(url, {"name": "Renamed", "expected_0": "offered", "expected_1": "no_times"})
    test.refresh_from_db()
    assert test.name == "Renamed" and [s.expected_kind for s in test.steps.all()] == ["offered", "no_times"]
    outsider = as_user(live.outsider)
    assert outsider.get(url).status_code == 404
    assert outsider.post(url + "delete/").status_code == 404 and CallTest.objects.exists()
    as_user(live.staff).post(url + "delete/")
    assert not CallTest.objects.exists()


def test_a_replay_weeks_later_meets_the_calendar_at_the_moment_the_caller_asked(booked_call, as_user):
    live = booked_call
    test = _save_test(live, as_user)
    later = timezone.now() + timedelta(days=22)

    # By then the booked Tuesday is long past; the replay's clock stands where the call's did.
    with mock.patch("django.utils.timezone.now", return_value=later):
        verdict = call_test_replay(test=test)

    assert verdict.passed, verdict.as_dict()
    assert verdict.steps[1].heard_now == test.steps.get(position=1).heard


def test_restoring_a_revision_is_checked_like_an_edit(booked_call, as_user, capture):
    live = booked_call
    _save_test(live, as_user)
    # The assistant's first revision books into a calendar this client's GHL does not have.
    first = live.assistant.revisions.order_by("created_at", "id").first()
    assert [c["calendar_id"] for c in first.snapshot["calendars"]] == ["cal-clean"]
    restore = f"/a/{live.agency.slug}/assistants/{live.assistant.public_id}/revisions/{first.public_id}/restore/"

    with capture(execute=True):
        response = as_user(live.staff).post(restore)

    assert "/jobs/" in response.url
    assert "1 of 1 test failed" in as_user(live.staff).get(response.url).content.decode()
    assert '<span class="badge text-bg-danger" data-got>Error</span>' in _check_page(live, as_user)
    assert sorted(_calendar_ids(live)) == ["cleaning", "consultation"]
