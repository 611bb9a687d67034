"""CSV exports of calls, written by a task in chunks so a large range never holds a request or the memory."""

import csv
import io
import logging
import tempfile
from zoneinfo import ZoneInfo

from django.core.files import File
from django.utils import timezone

from integrations.jobs import job_fail, job_finish, job_for_task, job_progress, job_start
from tenants.csv import csv_safe
from voice.calls.selectors import CallFilters, call_list
from voice.models import Call

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 500
CHUNK_SIZE = 2000
CALL_COLUMNS = [
    "Started",
    "Client",
    "Assistant",
    "Caller",
    "Duration (s)",
    "Outcome",
    "Ended reason",
    "Cost (USD)",
    "Summary",
    "Vapi call id",
]


def call_export_row(call: Call) -> list[str]:
    """One call as CSV cells; times in the client's zone, ISO 8601 with its offset."""
    zone = ZoneInfo(call.client.time_zone if call.client else "UTC")
    moment = call.started_at or call.created_at
    cells = [
        moment.astimezone(zone).isoformat(timespec="seconds"),
        call.client.name if call.client else "",
        call.assistant.name if call.assistant else "",
        call.caller_number,
        call.duration_seconds,
        call.get_outcome_display(),
        call.ended_reason,
        call.cost,
        call.summary,
        call.vapi_call_id,
    ]
    return [csv_safe(cell) for cell in cells]


def call_export_write(*, job_id: int) -> None:
    """Writes the job's filtered calls to a CSV file, reporting progress every PROGRESS_EVERY rows."""
    job = job_for_task(job_id=job_id)
    if job is None:
        return
    calls = call_list(agency=job.agency, filters=CallFilters.from_params(job.params.get("filters", {})))
    job_start(job=job, total=calls.count())
    written = 0
    with tempfile.TemporaryFile() as raw:
        # utf-8-sig: Excel reads accented client and caller names right only with the byte-order mark.
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        writer = csv.writer(text)
        writer.writerow(CALL_COLUMNS)
        try:
            for call in calls.iterator(chunk_size=CHUNK_SIZE):
                writer.writerow(call_export_row(call))
                written += 1
                if written % PROGRESS_EVERY == 0:
                    job_progress(job=job, done=written)
            text.flush()
            raw.seek(0)
            job_progress(job=job, done=written)
            filename = f"calls-{timezone.now():%Y-%m-%d-%H%M}.csv"
            message = f"{written:,} call{'s' if written != 1 else ''} exported."
            job_finish(job=job, file=File(raw), filename=filename, message=message)
        except OSError as exc:
            logger.warning("call export %s could not be written: %s", job.public_id, exc)
            job_fail(job=job, message=f"the file could not be written ({exc.strerror or exc}). Try again.")
            raise
        finally:
            text.detach()
