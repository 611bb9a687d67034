"""The monthly client report: rendered or sent by `manage.py client_report`, emailed (text and HTML) to each
client admin once by the beat on the 1st, and shown as a page in the client's portal; months in the client's zone."""

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.urls import reverse

from tests.factories import BookingFactory, CallFactory
from tests.voice.dashboards.charts import chart_data
from voice.models import AppointmentStatus, CallOutcome, ClientReport, ServiceValue
from voice.reports.tasks import client_reports_send_task

pytestmark = pytest.mark.django_db

CHICAGO = ZoneInfo("America/Chicago")
NOW = datetime(2026, 3, 15, 15, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_now(monkeypatch):
    monkeypatch.setattr("django.utils.timezone.now", lambda: NOW)


@pytest.fixture
def february(cast):
    """A Chicago client's February: four calls with summaries (one booked, kept, worth 120), one call just
    before midnight on Feb 28 in Chicago (March 1 in UTC), and one just after (March)."""
    dental = cast.client_account
    assert dental.time_zone == "America/Chicago"

    def call(local, summary="", **fields):
        return CallFactory(client=dental, started_at=local.astimezone(UTC), summary=summary, **fields)

    booked = call(
        datetime(2026, 2, 3, 10, 0, tzinfo=CHICAGO),
        "Dana booked a cleaning for Friday.",
        outcome=CallOutcome.BOOKED,
        duration_seconds=120,
    )
    BookingFactory(
        call=booked,
        calendar_id="cal-clean",
        start=datetime(2026, 2, 6, 9, tzinfo=CHICAGO),
        created_at=booked.started_at,
        ghl_status=AppointmentStatus.SHOWED,
    )
    call(datetime(2026, 2, 10, 11, 0, tzinfo=CHICAGO), "Asked for opening hours.", duration_seconds=300)
    call(datetime(2026, 2, 12, 11, 0, tzinfo=CHICAGO), "Asked about insurance.", duration_seconds=200)
    call(datetime(2026, 2, 20, 11, 0, tzinfo=CHICAGO), "Wrong number.", duration_seconds=10)
    call(datetime(2026, 2, 28, 23, 30, tzinfo=CHICAGO))
    call(datetime(2026, 3, 1, 0, 30, tzinfo=CHICAGO), "A March call.")
    ServiceValue.objects.create(client=dental, calendar_id="cal-clean", calendar_name="Cleaning", value=Decimal(120))
    return cast


def test_the_command_prints_last_months_report(february, capsys):
    call_command("client_report", str(february.client_account.public_id))
    text = capsys.readouterr().out

    assert "A Dental: your AI receptionist in February 2026" in text
    assert "Calls answered: 5" in text  # Feb 28 at 11:30 PM in Chicago is February there
    assert "Appointments kept: 1 (100% of 1 due)" in text
    assert "Estimated value of kept appointments: 120.00" in text
    examples = [line for line in text.splitlines() if line.startswith("- ")]
    assert len(examples) == 3
    assert "Dana booked a cleaning" in examples[0]  # the booked call first, then the longest
    assert "opening hours" in examples[1] and "insurance" in examples[2]
    assert "A March call" not in text and "Wrong number" not in text


def test_the_command_reports_the_month_asked_and_refuses_a_bad_one(february, capsys):
    call_command("client_report", "A Dental", "--month", "2026-03")
    assert "March 2026" in capsys.readouterr().out
    with pytest.raises(CommandError, match="not YYYY-MM"):
        call_command("client_report", "A Dental", "--month", "March")
    with pytest.raises(CommandError, match="No client"):
        call_command("client_report", "Nobody")


def test_the_command_sends_it_to_the_clients_admins(february):
    call_command("client_report", "A Dental", "--send")

    (email,) = mail.outbox
    assert email.to == [february.client_admin.email]
    assert email.subject == "A Dental: your AI receptionist in February 2026"
    html = email.alternatives[0][0]
    assert "Dana booked a cleaning" in html and "120.00" in html
    assert f"/c/{february.client_account.public_id}/report/?month=2026-02" in email.body


def test_the_beat_on_the_1st_sends_each_report_once(february):
    assert client_reports_send_task() == 1  # only clients with an admin; tasks run eagerly here
    assert client_reports_send_task() == 1
    assert len(mail.outbox) == 1
    report = ClientReport.objects.get()
    assert (report.month.isoformat(), report.status, report.recipients) == (
        "2026-02-01",
        "sent",
        [february.client_admin.email],
    )


def test_a_report_that_failed_to_send_goes_with_the_next_beat(february, settings, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("Connection refused")

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", refuse)
    client_reports_send_task()
    assert ClientReport.objects.get().status == "failed"
    monkeypatch.undo()
    monkeypatch.setattr("django.utils.timezone.now", lambda: NOW)

    client_reports_send_task()
    assert (ClientReport.objects.get().status, len(mail.outbox)) == ("sent", 1)


def test_the_report_is_a_page_in_the_clients_portal(february, as_user):
    url = reverse("client_report", args=[february.client_account.public_id])
    response = as_user(february.client_admin).get(url)
    html = response.content.decode()

    assert "February 2026" in html
    assert chart_data(response, "report-chart") == {"February 2026": {"Calls": 5, "Booked": 1, "Kept": 1}}
    assert html.count('data-testid="example-call"') == 3
    march = as_user(february.client_admin).get(url, {"month": "2026-03"}).content.decode()
    assert "A March call" in march and "Dana booked" not in march


def test_previous_month_is_the_clients_own(february):
    from voice.reports.selectors import previous_month

    # 2 AM UTC on April 1 is still March 31 in Chicago: last month there is February.
    assert previous_month(client=february.client_account, now=datetime(2026, 4, 1, 2, tzinfo=UTC)).month == 2
    assert previous_month(client=february.client_account, now=datetime(2026, 4, 1, 12, tzinfo=UTC)).month == 3


def test_a_report_another_worker_is_sending_is_not_sent_again(february):
    from voice.reports.services import client_report_send

    ClientReport.objects.create(client=february.client_account, month=datetime(2026, 2, 1).date(), status="sending")

    assert client_report_send(client=february.client_account, month=datetime(2026, 2, 1).date()) is None
    assert client_reports_send_task() == 1
    assert mail.outbox == []
    with pytest.raises(CommandError, match="being sent by another run"):
        call_command("client_report", "A Dental", "--month", "2026-02", "--send")


def test_an_operator_may_send_a_sent_report_again(february):
    client_reports_send_task()
    call_command("client_report", "A Dental", "--month", "2026-02", "--send")
    assert len(mail.outbox) == 2
