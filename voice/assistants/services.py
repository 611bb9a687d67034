import difflib
import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from agencyhub.enqueue import enqueue, enqueue_on_commit
from integrations.jobs import job_fail, job_finish_without_file, job_for_task, job_progress, job_start
from integrations.vapi.errors import VapiError, VapiOutcomeUnknown
from tenants.models import Agency, ClientAccount, User
from voice.assistants import tasks
from voice.assistants.payload import assistant_payload
from voice.assistants.vapi_create import vapi_assistant_create, vapi_create_claim, vapi_create_release
from voice.assistants.vapi_org import vapi_account_ensure, vapi_assistants_list, vapi_client_for
from voice.live.setup import agency_live_forget
from voice.models import (
    LANGUAGE_CHOICES,
    Assistant,
    AssistantCalendar,
    AssistantRevision,
    LiveTool,
    SyncStatus,
    VapiAccount,
)

logger = logging.getLogger(__name__)


# The fields staff edit; a revision snapshot holds exactly these plus the calendars.
EDITABLE_FIELDS = (
    "name",
    "first_message",
    "system_prompt",
    "model_provider",
    "model",
    "voice_provider",
    "voice_id",
    "transcriber_provider",
    "transcriber_model",
    "transcriber_language",
    "time_zone",
    "business_hours",
    "appointment_minutes",
    "transfer_number",
    "end_call_phrases",
    "live_tools",
)


def _snapshot(assistant: Assistant) -> dict:
    data = {field: getattr(assistant, field) for field in EDITABLE_FIELDS}
    data["calendars"] = [
        {"calendar_id": c.calendar_id, "calendar_name": c.calendar_name, "spoken_name": c.spoken_name}
        for c in assistant.calendars.all()
    ]
    return data


def assistant_revision_create(*, assistant: Assistant, author: User | None) -> AssistantRevision:
    """Records who saved what: the full snapshot, the changed fields and a diff of the prompt."""
    snapshot = _snapshot(assistant)
    previous = assistant.revisions.first()
    before = previous.snapshot if previous else {}
    changed = [key for key, value in snapshot.items() if before.get(key) != value]
    diff = "\n".join(
        difflib.unified_diff(
            before.get("system_prompt", "").splitlines(),
            snapshot["system_prompt"].splitlines(),
            fromfile="before",
            tofile="after",
            lineterm="",
        )
    )
    return AssistantRevision.objects.create(
        assistant=assistant, author=author, snapshot=snapshot, changed_fields=changed, prompt_diff=diff
    )


def assistant_calendars_set(*, assistant: Assistant, calendars: list[dict]) -> None:
    assistant.calendars.all().delete()
    AssistantCalendar.objects.bulk_create(
        AssistantCalendar(
            assistant=assistant,
            calendar_id=c["calendar_id"],
            calendar_name=c.get("calendar_name") or c["calendar_id"],
            spoken_name=c["spoken_name"],
        )
        for c in calendars
    )
    # bulk_create sends no post_save: live calls must still see the new calendars at once.
    agency_live_forget(agency_id=assistant.client.agency_id)


def assistant_push_enqueue(assistant: Assistant) -> None:
    now = timezone.now()
    Assistant.objects.filter(pk=assistant.pk).update(sync_status=SyncStatus.PENDING, push_requested_at=now)
    assistant.sync_status, assistant.push_requested_at = SyncStatus.PENDING, now
    enqueue_on_commit(tasks.assistant_push_task, assistant.pk)


def assistants_pending_sweep() -> int:
    """Enqueues again the pushes still pending after the grace period (their enqueue was lost to a broker
    outage, or their worker died); returns how many were enqueued."""
    now = timezone.now()
    stale = Assistant.objects.filter(
        sync_status=SyncStatus.PENDING,
        push_requested_at__lt=now - timedelta(seconds=settings.QUEUED_WORK_GRACE_SECONDS),
    ).order_by("push_requested_at")
    enqueued = 0
    for assistant_id in stale.values_list("pk", flat=True)[:100]:
        if not enqueue(tasks.assistant_push_task, assistant_id):
            break  # the broker is still down: the next sweep tries again
        # Restarts the grace period, so a push still waiting in the queue is not enqueued every minute.
        Assistant.objects.filter(pk=assistant_id, sync_status=SyncStatus.PENDING).update(push_requested_at=now)
        enqueued += 1
    return enqueued


@transaction.atomic
def assistant_create(*, client: ClientAccount, author: User | None, calendars: list[dict] = (), **fields) -> Assistant:
    """Saves locally first (so nothing typed is lost), keeps a revision, then pushes on commit."""
    fields.setdefault("time_zone", client.time_zone)
    assistant = Assistant(client=client, **fields)
    assistant.full_clean()
    assistant.save()
    assistant_calendars_set(assistant=assistant, calendars=list(calendars))
    assistant_revision_create(assistant=assistant, author=author)
    assistant_push_enqueue(assistant)
    return assistant


@transaction.atomic
def assistant_update(*, assistant: Assistant, author: User | None, calendars: list[dict], **fields) -> Assistant:
    for field, value in fields.items():
        if field not in EDITABLE_FIELDS:
            raise ValueError(f"{field} is not editable")
        setattr(assistant, field, value)
    assistant.full_clean()
    assistant.save()
    assistant_calendars_set(assistant=assistant, calendars=calendars)
    assistant_revision_create(assistant=assistant, author=author)
    assistant_push_enqueue(assistant)
    return assistant


def assistant_revision_fields(*, revision: AssistantRevision) -> tuple[list[dict], dict]:
    """The revision's calendars and editable fields, as assistant_update takes them."""
    snapshot = dict(revision.snapshot)
    calendars = snapshot.pop("calendars", [])
    return calendars, {key: value for key, value in snapshot.items() if key in EDITABLE_FIELDS}


def assistant_revision_restore(*, revision: AssistantRevision, author: User | None) -> Assistant:
    calendars, fields = assistant_revision_fields(revision=revision)
    return assistant_update(assistant=revision.assistant, author=author, calendars=calendars, **fields)


def assistant_delete(*, assistant: Assistant) -> None:
    """Deletes it in Vapi too when it was pushed; a Vapi failure stops the delete so nothing is orphaned."""
    if assistant.vapi_id:
        try:
            with vapi_client_for(assistant.client.agency) as vapi:
                vapi.delete_assistant(assistant_id=assistant.vapi_id)
        except VapiError as exc:
            if exc.status_code != 404:
                raise ValidationError(f"Vapi refused the delete: {exc.message}") from exc
    assistant.delete()


def assistant_push(*, assistant_id: int) -> Assistant:
    """POST when new (after looking for one a lost answer made), PATCH when existing; records synced or failed
    with Vapi's own message, or leaves it pending for the sweep when Vapi cannot say whether it was created.
    Only one push at a time creates: another finding the creation claimed leaves it to that one."""
    assistant = Assistant.objects.select_related("client__agency").get(pk=assistant_id)
    requested_at, claim = assistant.push_requested_at, None
    if not assistant.vapi_id:
        claim = vapi_create_claim(assistant)
        if claim is None:
            assistant.refresh_from_db(fields=["vapi_id", "sync_status", "sync_error", "synced_at"])
            if not assistant.vapi_id:
                logger.info("Assistant %s is being created in Vapi by another push", assistant.public_id)
                return assistant
    try:
        with vapi_client_for(assistant.client.agency) as vapi:
            if assistant.vapi_id:
                payload = assistant_payload(assistant=assistant)
                vapi.update_assistant(assistant_id=assistant.vapi_id, payload=payload)
            else:
                vapi_assistant_create(vapi, assistant)
    except ValidationError as exc:
        assistant.sync_status, assistant.sync_error = SyncStatus.FAILED, " ".join(exc.messages)
    except VapiOutcomeUnknown as exc:
        assistant.sync_status = SyncStatus.PENDING
        assistant.sync_error = f"Vapi's answer was lost ({exc.message}); it is looked up before it is sent again."
    except VapiError as exc:
        logger.warning(
            "Vapi push failed for assistant %s of agency %s: %s",
            assistant.public_id,
            assistant.client.agency.slug,
            exc.message,
        )
        assistant.sync_status, assistant.sync_error = SyncStatus.FAILED, exc.message
    else:
        assistant.sync_status, assistant.sync_error, assistant.synced_at = SyncStatus.SYNCED, "", timezone.now()
    # Only sync fields: a push never overwrites what staff typed meanwhile.
    assistant.save(update_fields=["vapi_id", "sync_status", "sync_error", "synced_at"])
    if claim is not None:
        vapi_create_release(assistant, claim, requested_at)
    return assistant


def assistant_push_retry(*, assistant: Assistant) -> None:
    assistant_push_enqueue(assistant)


def assistants_push_job(*, job_id: int) -> None:
    """Pushes every assistant of the job's agency again (after an outage, a new key), reporting each one."""
    job = job_for_task(job_id=job_id)
    if job is None:
        return
    assistant_ids = list(
        Assistant.objects.filter(client__agency=job.agency)
        .order_by("client__name", "name")
        .values_list("pk", flat=True)
    )
    job_start(job=job, total=len(assistant_ids))
    failures = []
    for done, assistant_id in enumerate(assistant_ids, start=1):
        assistant = assistant_push(assistant_id=assistant_id)
        if assistant.sync_status == SyncStatus.FAILED:
            failures.append(f"{assistant.name}: {assistant.sync_error}")
        job_progress(job=job, done=done)
    pushed = len(assistant_ids) - len(failures)
    message = f"{pushed} of {len(assistant_ids)} assistant{'s' if len(assistant_ids) != 1 else ''} pushed to Vapi."
    if failures:
        message += " Vapi refused: " + "; ".join(failures)
    job_finish_without_file(job=job, message=message)


def _pick(value: str, allowed: list[str], default: str) -> str:
    return value if value in allowed else default


def assistant_import(*, client: ClientAccount, vapi_id: str, author: User | None) -> Assistant:
    """Adopts an assistant from the agency's Vapi org; the first push then attaches our server and tools.

    Not atomic itself: Vapi is asked first, outside any transaction; assistant_create then saves atomically."""
    if Assistant.objects.filter(client__agency=client.agency, vapi_id=vapi_id).exists():
        raise ValidationError("This Vapi assistant is already attached to a client.")
    with vapi_client_for(client.agency) as vapi:
        remote = vapi.get_assistant(assistant_id=vapi_id)
    model, voice, transcriber = remote.get("model") or {}, remote.get("voice") or {}, remote.get("transcriber") or {}
    system = next((m.get("content", "") for m in model.get("messages", []) if m.get("role") == "system"), "")
    fields = {
        "name": (remote.get("name") or "Imported assistant")[:40],
        "first_message": remote.get("firstMessage") or "",
        "system_prompt": system,
        "end_call_phrases": remote.get("endCallPhrases") or [],
        "live_tools": [LiveTool.CHECK_AVAILABILITY, LiveTool.BOOK_APPOINTMENT],
        "transcriber_language": _pick(transcriber.get("language", ""), [c[0] for c in LANGUAGE_CHOICES], "en"),
    }
    for key, value in (
        ("model_provider", model.get("provider")),
        ("model", model.get("model")),
        ("voice_provider", voice.get("provider")),
        ("voice_id", voice.get("voiceId")),
        ("transcriber_provider", transcriber.get("provider")),
        ("transcriber_model", transcriber.get("model")),
    ):
        if isinstance(value, str) and value:
            fields[key] = value
    return assistant_create(client=client, author=author, vapi_id=vapi_id, **fields)


def assistants_import_job(*, job_id: int) -> None:
    """Imports every assistant of the Vapi org not yet attached into the job's client, reporting each one."""
    job = job_for_task(job_id=job_id)
    if job is None:
        return
    client = ClientAccount.objects.filter(agency=job.agency, pk=job.params.get("client_pk")).first()
    if client is None:
        job_fail(job=job, message="the client no longer exists.")
        return
    try:
        remote = vapi_assistants_list(agency=job.agency)
    except ValidationError as exc:
        job_fail(job=job, message=" ".join(exc.messages))
        return
    except VapiError as exc:
        job_fail(job=job, message=f"Vapi answered: {exc.message}")
        return
    attached = set(
        Assistant.objects.filter(client__agency=job.agency).exclude(vapi_id="").values_list("vapi_id", flat=True)
    )
    waiting = [item for item in remote if item.get("id") and item["id"] not in attached]
    job_start(job=job, total=len(waiting))
    imported, failures = 0, []
    for done, item in enumerate(waiting, start=1):
        try:
            assistant_import(client=client, vapi_id=item["id"], author=job.created_by)
            imported += 1
        except ValidationError as exc:
            failures.append(f"{item.get('name') or item['id']}: {' '.join(exc.messages)}")
        except VapiError as exc:
            failures.append(f"{item.get('name') or item['id']}: Vapi answered {exc.message}")
        job_progress(job=job, done=done)
    message = f"{imported} assistant{'s' if imported != 1 else ''} imported into {client.name}."
    if failures:
        message += " Not imported: " + "; ".join(failures)
    job_finish_without_file(job=job, message=message)


def vapi_account_secret_rotate(*, agency: Agency) -> VapiAccount:
    """A new secret; assistants and numbers are updated in Vapi so it sends the new one."""
    account, _ = vapi_account_ensure(agency=agency)
    account.webhook_secret = secrets.token_urlsafe(32)
    account.save(update_fields=["webhook_secret", "updated_at"])
    for assistant in Assistant.objects.filter(client__agency=agency).exclude(vapi_id=""):
        assistant_push_enqueue(assistant)
    enqueue_on_commit(tasks.phone_numbers_server_refresh_task, agency.pk)
    return account


def client_call_start_changed(sender, client_id: int, **kwargs) -> None:
    """A client chose another call start (tenants.signals): the agency's numbers are sent to Vapi again, so
    the client's numbers are tied to their assistant (fastest pickup) or keep asking per call."""
    agency_id = ClientAccount.objects.filter(pk=client_id).values_list("agency_id", flat=True).first()
    if agency_id is not None:
        enqueue(tasks.phone_numbers_server_refresh_task, agency_id)
