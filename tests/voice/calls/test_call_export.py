"""CSV export of the filtered calls: a job with progress, exactly this agency's filtered rows, times in the
client's zone, formula-like cells escaped, and nobody outside the agency sees the job or its file."""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from integrations.jobs import job_create
from integrations.models import Job, JobStatus
from tenants.csv import csv_safe
from tests.factories import CallFactory
from voice.models import CallOutcome

pytestmark = pytest.mark.django_db


@pytest.fixture
def calls(cast):
    started = datetime(2026, 7, 1, 18, 30, tzinfo=UTC)
    CallFactory(
        client=cast.client_account,
        vapi_call_id="c-booked",
        started_at=started,
        outcome=CallOutcome.BOOKED,
        duration_seconds=95,
        cost=Decimal("0.1234"),
        caller_number="+13125550101",
        summary='=HYPERLINK("http://evil.test","click")',
        ended_reason="customer-ended-call",
    )
    CallFactory(
        client=cast.other_client,
        vapi_call_id="c-london",
        started_at=started,
        outcome=CallOutcome.BOOKED,
        summary="@SUM(A1:A9) and -2+3",
    )
    CallFactory(client=cast.client_account, vapi_call_id="c-failed", started_at=started, outcome=CallOutcome.FAILED)
    CallFactory(client=cast.client_b, vapi_call_id="c-outsider", started_at=started, outcome=CallOutcome.BOOKED)


@pytest.fixture
def export(cast, django_capture_on_commit_callbacks):
    """Posts the export form; the job's task is enqueued on commit and runs eagerly."""

    def post(client, query="outcome=booked"):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(f"/a/{cast.agency.slug}/calls/export/?{query}")

    return post


def _rows(client, job) -> list[dict]:
    response = client.get(f"/a/{job.agency.slug}/jobs/{job.public_id}/download/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment; filename=")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_the_export_holds_exactly_the_filtered_calls_of_this_agency(cast, calls, as_user, export):
    client = as_user(cast.staff)
    response = export(client)
    job = Job.objects.get()
    assert response.status_code == 302 and response.url == f"/a/{cast.agency.slug}/jobs/{job.public_id}/"
    assert job.status == JobStatus.DONE and job.percent == 100 and job.done == job.total == 2
    rows = _rows(client, job)
    assert sorted(row["Vapi call id"] for row in rows) == ["c-booked", "c-london"]
    booked = next(row for row in rows if row["Vapi call id"] == "c-booked")
    # 18:30 UTC on July 1 is 13:30 in Chicago (CDT) and 19:30 in London (BST).
    assert booked["Started"] == "2026-07-01T13:30:00-05:00"
    assert next(row for row in rows if row["Vapi call id"] == "c-london")["Started"] == "2026-07-01T19:30:00+01:00"
    assert booked["Client"] == "A Dental" and booked["Duration (s)"] == "95" and booked["Cost (USD)"] == "0.1234"
    assert booked["Outcome"] == "Booked"


def test_formula_like_cells_are_escaped(cast, calls, as_user, export):
    client = as_user(cast.owner)
    export(client)
    rows = {row["Vapi call id"]: row for row in _rows(client, Job.objects.get())}
    assert rows["c-booked"]["Summary"] == '\'=HYPERLINK("http://evil.test","click")'
    assert rows["c-booked"]["Caller"] == "'+13125550101"
    assert rows["c-london"]["Summary"] == "'@SUM(A1:A9) and -2+3"
    assert rows["c-booked"]["Ended reason"] == "customer-ended-call"


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_every_formula_start_is_neutralised(start):
    assert csv_safe(f"{start}1+1") == f"'{start}1+1"


def test_plain_cells_are_left_alone():
    assert [csv_safe(v) for v in ("Ada", 12, None, Decimal("1.5"), "a=b")] == ["Ada", "12", "", "1.5", "a=b"]


def test_the_export_follows_every_filter_of_the_list(cast, calls, as_user, export):
    client = as_user(cast.owner)
    export(client, f"client={cast.client_account.public_id}&sort=oldest")
    assert sorted(row["Vapi call id"] for row in _rows(client, Job.objects.get())) == ["c-booked", "c-failed"]


def test_progress_is_reported_as_rows_are_written(cast, as_user, monkeypatch, export):
    from integrations import jobs
    from voice.calls import exports

    for i in range(5):
        CallFactory(client=cast.client_account, vapi_call_id=f"c-{i}")
    monkeypatch.setattr(exports, "PROGRESS_EVERY", 2)
    reported = []
    real_progress = jobs.job_progress

    def spy(*, job, done):
        reported.append((done, job.total))
        real_progress(job=job, done=done)

    monkeypatch.setattr(exports, "job_progress", spy)
    export(as_user(cast.owner), "")
    assert reported == [(2, 5), (4, 5), (5, 5)]
    assert Job.objects.get().percent == 100


def test_a_bad_filter_starts_no_export(cast, calls, as_user, export):
    response = export(as_user(cast.owner), "date_from=soon")
    assert response.status_code == 302 and response.url.startswith(f"/a/{cast.agency.slug}/calls/?")
    assert not Job.objects.exists()


def test_the_job_page_polls_until_done_then_offers_the_file(cast, calls, as_user, export):
    client = as_user(cast.owner)
    queued = job_create(agency=cast.agency, created_by=cast.owner, kind="call_export", title="Calls export", params={})
    partial = client.get(f"/a/{cast.agency.slug}/jobs/{queued.public_id}/", headers={"HX-Request": "true"})
    html = partial.content.decode()
    assert 'hx-trigger="every 1s"' in html and "<html" not in html and "Download" not in html
    # Not ready yet: the download link leads back to the progress page.
    early = client.get(f"/a/{cast.agency.slug}/jobs/{queued.public_id}/download/")
    assert early.status_code == 302 and early.url.endswith(f"/jobs/{queued.public_id}/")

    export(client)
    done = Job.objects.exclude(pk=queued.pk).get()
    page = client.get(f"/a/{cast.agency.slug}/jobs/{done.public_id}/").content.decode()
    assert "every 1s" not in page and "100%" in page and "2 calls exported." in page
    assert f"/jobs/{done.public_id}/download/" in page


def test_a_failed_job_says_why(cast, as_user):
    job = job_create(agency=cast.agency, created_by=cast.owner, kind="call_export", title="Calls export", params={})
    Job.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, message="the disk is full")
    html = as_user(cast.owner).get(f"/a/{cast.agency.slug}/jobs/{job.public_id}/").content.decode()
    assert "the disk is full" in html and "every 1s" not in html


def test_another_agency_cannot_see_or_download_the_job(cast, calls, as_user, export):
    export(as_user(cast.owner))
    job = Job.objects.get()
    for stranger in (cast.outsider, cast.client_admin):
        client = as_user(stranger)
        assert client.get(f"/a/{cast.agency.slug}/jobs/{job.public_id}/").status_code == 404
        assert client.get(f"/a/{cast.agency.slug}/jobs/{job.public_id}/download/").status_code == 404
        assert export(client).status_code == 404
    # Nor through its own agency's address.
    client = as_user(cast.outsider)
    assert client.get(f"/a/{cast.agency_b.slug}/jobs/{job.public_id}/").status_code == 404
    assert client.get(f"/a/{cast.agency_b.slug}/jobs/{job.public_id}/download/").status_code == 404
    assert Job.objects.count() == 1


def test_an_export_needs_a_post(cast, as_user):
    assert as_user(cast.owner).get(f"/a/{cast.agency.slug}/calls/export/").status_code == 405


def test_a_job_whose_worker_was_lost_stops_polling_and_says_so(cast, as_user):
    from datetime import timedelta

    from django.utils import timezone

    job = job_create(agency=cast.agency, created_by=cast.owner, kind="call_export", title="Calls export", params={})
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, done=500, total=2000, created_at=timezone.now() - timedelta(hours=1)
    )
    html = as_user(cast.owner).get(f"/a/{cast.agency.slug}/jobs/{job.public_id}/").content.decode()
    assert "stopped making progress at 500 of 2,000" in html and "every 1s" not in html
