"""A request enqueues a task; a real Celery worker process (Redis broker) runs it against the same
PostgreSQL database, and the effect shows up there. Run by .ci/run with CELERY_BROKER_URL=redis://..."""

import os
import signal
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.db import connection

from integrations.models import Job, JobStatus
from tenants.models import Invitation
from tests.factories import CallFactory

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not settings.CELERY_BROKER_URL.startswith("redis://"), reason="needs CELERY_BROKER_URL=redis://..."
    ),
]


@pytest.fixture
def worker():
    if connection.vendor != "postgresql":
        pytest.skip("the worker must share the test database: PostgreSQL only")
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        # Files the worker writes (export results) must land where this test process reads them.
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        # As production keeps them (the default without DEBUG, which the tests may set).
        "CONN_MAX_AGE": "60",
    }
    from agencyhub.celery import app

    app.control.purge()
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "agencyhub", "worker", "--pool=solo", "--loglevel=INFO"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield process
    process.send_signal(signal.SIGTERM)
    try:
        output, _ = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    print(output)


def test_invitation_email_is_sent_by_the_worker(cast, as_user, worker):
    response = as_user(cast.owner).post(
        f"/a/{cast.agency.slug}/team/invite/", {"email": "queued@a.test", "role": "staff"}
    )
    assert response.status_code == 302
    invitation = Invitation.objects.get(email="queued@a.test")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and worker.poll() is None:
        invitation.refresh_from_db()
        if invitation.sent_at:
            break
        time.sleep(0.5)
    assert worker.poll() is None, "the worker exited early"
    assert invitation.sent_at is not None, "the worker did not send the invitation within 60 s"


def test_a_calls_export_is_written_by_the_worker(cast, as_user, worker):
    for i in range(3):
        CallFactory(client=cast.client_account, vapi_call_id=f"c-worker-{i}", summary=f"=cmd|{i}")
    client = as_user(cast.owner)
    response = client.post(f"/a/{cast.agency.slug}/calls/export/")
    assert response.status_code == 302
    job = Job.objects.get()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and worker.poll() is None:
        job.refresh_from_db()
        if job.finished:
            break
        time.sleep(0.5)
    assert worker.poll() is None, "the worker exited early"
    assert job.status == JobStatus.DONE, f"the export did not finish within 60 s: {job.status} {job.message}"
    download = client.get(f"/a/{cast.agency.slug}/jobs/{job.public_id}/download/")
    lines = b"".join(download.streaming_content).decode("utf-8-sig").splitlines()
    assert len(lines) == 4 and all("'=cmd|" in line for line in lines[1:])


def _others_connected() -> set[int]:
    """The backends of this database but this process's own: the worker's."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend'"
        )
        return {pid for (pid,) in cursor.fetchall()}


def test_the_worker_keeps_its_database_connection_from_one_task_to_the_next(cast, as_user, worker):
    # Celery's Django fixup closes it after every task unless settings.CELERY_DB_REUSE_MAX says otherwise: a new
    # PostgreSQL backend for each task.
    seen = []
    for email in ("first@a.test", "second@a.test"):
        response = as_user(cast.owner).post(f"/a/{cast.agency.slug}/team/invite/", {"email": email, "role": "staff"})
        assert response.status_code == 302
        invitation = Invitation.objects.get(email=email)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and worker.poll() is None and not invitation.sent_at:
            time.sleep(0.2)
            invitation.refresh_from_db()
        assert invitation.sent_at is not None, "the worker did not send the invitation within 60 s"
        time.sleep(0.5)  # the task's end (and, without the setting, its connection's closing) comes after its write
        seen.append(_others_connected())
    assert seen[0] and seen[0] == seen[1], "one connection, open after each task and used by the next"
