import difflib
import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from tenants.models import Agency, ClientAccount, User

from .live_setup import agency_live_forget
from .models import (
    WEEKDAYS,
    Assistant,
    AssistantCalendar,
    AssistantRevision,
    LiveTool,
    PhoneNumber,
    SyncStatus,
    VapiAccount,
)

logger = logging.getLogger(__name__)

# Explicit since Vapi's 2025-05 change: only what the server-URL endpoint handles
# (assistant-request is not an assistant message: it goes to the phone number's server).
SERVER_MESSAGES = [
    "tool-calls",
    "status-update",
    "end-of-call-report",
    "hang",
    "transfer-destination-request",
]
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
WEEKDAY_NAMES = dict(zip(WEEKDAYS, ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), strict=True))


# --- Vapi account -------------------------------------------------------------------------------


def vapi_endpoint_url(*, agency: Agency) -> str:
    return f"{settings.PUBLIC_BASE_URL}/api/webhooks/vapi/{agency.public_id}/"


def vapi_account_ensure(*, agency: Agency) -> tuple[VapiAccount, bool]:
    """The agency's Vapi account with a webhook secret; True when the secret was just created."""
    account, _ = VapiAccount.objects.get_or_create(agency=agency)
    if account.webhook_secret:
        return account, False
    account.webhook_secret = secrets.token_urlsafe(32)
    account.save(update_fields=["webhook_secret", "updated_at"])
    return account, True


def vapi_account_key_save(*, agency: Agency, api_key: str) -> tuple[VapiAccount, bool]:
    account, secret_created = vapi_account_ensure(agency=agency)
    account.api_key = api_key.strip()
    account.verified_at = None
    account.verify_error = ""
    account.save(update_fields=["api_key", "verified_at", "verify_error", "updated_at"])
    return account, secret_created


def vapi_account_secret_rotate(*, agency: Agency) -> VapiAccount:
    """A new secret; assistants and numbers are updated in Vapi so it sends the new one."""
    account, _ = vapi_account_ensure(agency=agency)
    account.webhook_secret = secrets.token_urlsafe(32)
    account.save(update_fields=["webhook_secret", "updated_at"])
    from . import tasks  # tasks import this module

    for assistant in Assistant.objects.filter(client__agency=agency).exclude(vapi_id=""):
        _push_enqueue(assistant)
    transaction.on_commit(lambda: tasks.phone_numbers_server_refresh.delay(agency.pk))
    return account


@contextmanager
def _vapi(agency: Agency) -> Iterator:
    """A VapiClient with the agency's key, closed afterwards."""
    from voice.vapi.client import VapiClient

    account = VapiAccount.objects.filter(agency=agency).first()
    if account is None or not account.api_key:
        raise ValidationError("Add the agency's Vapi private API key in Settings → Vapi first.")
    with VapiClient(api_key=account.api_key) as client:
        yield client


def vapi_account_verify(*, agency: Agency) -> VapiAccount:
    """Calls Vapi with the stored key and records whether it works."""
    from voice.vapi.client import VapiError

    account, _ = vapi_account_ensure(agency=agency)
    try:
        with _vapi(agency) as vapi:
            vapi.list_assistants()
    except VapiError as exc:
        account.verified_at, account.verify_error = None, exc.message
    else:
        account.verified_at, account.verify_error = timezone.now(), ""
    account.save(update_fields=["verified_at", "verify_error", "updated_at"])
    return account


# --- Payload ------------------------------------------------------------------------------------


def business_hours_text(hours: dict) -> str:
    parts = []
    for day in WEEKDAYS:
        span = hours.get(day)
        parts.append(f"{WEEKDAY_NAMES[day]} {span['open']}-{span['close']}" if span else f"{WEEKDAY_NAMES[day]} closed")
    return ", ".join(parts)


def assistant_prompt_render(*, assistant: Assistant, prompt: str | None = None) -> str:
    """The system prompt with {client_name}, {time_zone}, {business_hours} and {today} filled in."""
    today = datetime.now(ZoneInfo(assistant.time_zone)).strftime("%A, %B %-d, %Y")
    values = {
        "client_name": assistant.client.name,
        "time_zone": assistant.time_zone,
        "business_hours": business_hours_text(assistant.business_hours),
        "today": today,
    }
    text = assistant.system_prompt if prompt is None else prompt
    # Only known variables are replaced, so stray braces in a prompt never break rendering.
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def _function_tool(*, name: str, description: str, properties: dict, required: list[str], start: str) -> dict:
    return {
        "type": "function",
        "async": False,
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": properties, "required": required},
        },
        "messages": [
            {"type": "request-start", "content": start},
            {
                "type": "request-response-delayed",
                "content": "Thanks for your patience, this is taking a moment.",
                "timingMilliseconds": 4000,
            },
            {"type": "request-failed", "content": "Sorry, I couldn't reach the calendar just now."},
        ],
    }


def _assistant_tools(assistant: Assistant) -> list[dict]:
    spoken = [c.spoken_name for c in assistant.calendars.all()]
    service = {"type": "string", "description": "What the appointment is for."}
    if spoken:
        service["enum"] = spoken
    start_time = {
        "type": "string",
        "description": f"ISO 8601 start, e.g. 2026-03-02T14:30; without an offset it is {assistant.time_zone} time.",
    }
    builders = {
        LiveTool.CHECK_AVAILABILITY: lambda: _function_tool(
            name="check_availability",
            description="Find open appointment times on a day or in a date range.",
            properties={
                "date": {"type": "string", "description": "A day (YYYY-MM-DD) or the first day of a range."},
                "end_date": {"type": "string", "description": "Last day of the range (YYYY-MM-DD), optional."},
                "part_of_day": {"type": "string", "enum": ["morning", "afternoon", "evening"]},
                "service": service,
            },
            required=["date"],
            start="One moment while I check the calendar.",
        ),
        LiveTool.BOOK_APPOINTMENT: lambda: _function_tool(
            name="book_appointment",
            description="Book an appointment at a time the caller chose.",
            properties={
                "start_time": start_time,
                "name": {"type": "string", "description": "The caller's full name."},
                "phone": {"type": "string", "description": "Phone number; defaults to the caller's."},
                "email": {"type": "string"},
                "notes": {"type": "string"},
                "service": service,
            },
            required=["start_time", "name"],
            start="Let me book that for you.",
        ),
        LiveTool.RESCHEDULE_APPOINTMENT: lambda: _function_tool(
            name="reschedule_appointment",
            description="Move one of the caller's upcoming appointments to a new time.",
            properties={
                "appointment_time": {"type": "string", "description": "When the existing appointment is."},
                "new_start_time": start_time,
            },
            required=["new_start_time"],
            start="Let me move that for you.",
        ),
        LiveTool.CANCEL_APPOINTMENT: lambda: _function_tool(
            name="cancel_appointment",
            description="Cancel one of the caller's upcoming appointments.",
            properties={"appointment_time": {"type": "string", "description": "When the appointment is."}},
            required=[],
            start="One moment while I cancel that.",
        ),
    }
    tools = [builders[tool]() for tool in LiveTool if tool in assistant.live_tools and tool in builders]
    if LiveTool.TRANSFER_CALL in assistant.live_tools and assistant.transfer_number:
        tools.append(
            {
                "type": "transferCall",
                "destinations": [
                    {
                        "type": "number",
                        "number": assistant.transfer_number,
                        "message": "I'm transferring you to a colleague now.",
                        "description": "A person at the front desk.",
                    }
                ],
            }
        )
    if LiveTool.END_CALL in assistant.live_tools:
        tools.append({"type": "endCall"})
    return tools


def assistant_payload(*, assistant: Assistant, for_update: bool) -> dict:
    """The one body for POST (`for_update=False`) and PATCH (`for_update=True`).

    Both are complete and identical in shape: Vapi's PATCH replaces nested objects whole, so an
    update must carry everything a create does; neither carries read-only or legacy fields."""
    account, _ = vapi_account_ensure(agency=assistant.client.agency)
    payload = {
        "name": assistant.name[:40],
        "firstMessage": assistant.first_message,
        "firstMessageMode": "assistant-speaks-first" if assistant.first_message else "assistant-waits-for-user",
        "model": {
            "provider": assistant.model_provider,
            "model": assistant.model,
            "messages": [{"role": "system", "content": assistant_prompt_render(assistant=assistant)}],
            "tools": _assistant_tools(assistant),
        },
        "voice": {"provider": assistant.voice_provider, "voiceId": assistant.voice_id},
        "transcriber": {
            "provider": assistant.transcriber_provider,
            "model": assistant.transcriber_model,
            "language": assistant.transcriber_language,
        },
        "endCallPhrases": [phrase[:140] for phrase in assistant.end_call_phrases],
        "server": {
            "url": vapi_endpoint_url(agency=assistant.client.agency),
            "headers": {"X-Vapi-Secret": account.webhook_secret},
        },
        "serverMessages": list(SERVER_MESSAGES),
        "metadata": {
            "agencyId": str(assistant.client.agency.public_id),
            "clientId": str(assistant.client.public_id),
            "assistantId": str(assistant.public_id),
        },
    }
    return payload


# --- Assistants and revisions --------------------------------------------------------------------


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


def _push_enqueue(assistant: Assistant) -> None:
    from . import tasks  # tasks import this module

    Assistant.objects.filter(pk=assistant.pk).update(sync_status=SyncStatus.PENDING)
    assistant.sync_status = SyncStatus.PENDING
    transaction.on_commit(lambda: tasks.assistant_push.delay(assistant.pk))


@transaction.atomic
def assistant_create(*, client: ClientAccount, author: User | None, calendars: list[dict] = (), **fields) -> Assistant:
    """Saves locally first (so nothing typed is lost), keeps a revision, then pushes on commit."""
    fields.setdefault("time_zone", client.time_zone)
    assistant = Assistant(client=client, **fields)
    assistant.full_clean()
    assistant.save()
    assistant_calendars_set(assistant=assistant, calendars=list(calendars))
    assistant_revision_create(assistant=assistant, author=author)
    _push_enqueue(assistant)
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
    _push_enqueue(assistant)
    return assistant


def assistant_revision_restore(*, revision: AssistantRevision, author: User | None) -> Assistant:
    snapshot = dict(revision.snapshot)
    calendars = snapshot.pop("calendars", [])
    fields = {key: value for key, value in snapshot.items() if key in EDITABLE_FIELDS}
    return assistant_update(assistant=revision.assistant, author=author, calendars=calendars, **fields)


def assistant_delete(*, assistant: Assistant) -> None:
    """Deletes it in Vapi too when it was pushed; a Vapi failure stops the delete so nothing is orphaned."""
    from voice.vapi.client import VapiError

    if assistant.vapi_id:
        try:
            with _vapi(assistant.client.agency) as vapi:
                vapi.delete_assistant(assistant_id=assistant.vapi_id)
        except VapiError as exc:
            if exc.status_code != 404:
                raise ValidationError(f"Vapi refused the delete: {exc.message}") from exc
    assistant.delete()


def assistant_push(*, assistant_id: int) -> Assistant:
    """POST when new, PATCH when existing; records synced or failed with Vapi's own message."""
    from voice.vapi.client import VapiError

    assistant = Assistant.objects.select_related("client__agency").get(pk=assistant_id)
    try:
        with _vapi(assistant.client.agency) as vapi:
            if assistant.vapi_id:
                payload = assistant_payload(assistant=assistant, for_update=True)
                vapi.update_assistant(assistant_id=assistant.vapi_id, payload=payload)
            else:
                created = vapi.create_assistant(payload=assistant_payload(assistant=assistant, for_update=False))
                assistant.vapi_id = created["id"]
    except ValidationError as exc:
        assistant.sync_status, assistant.sync_error = SyncStatus.FAILED, " ".join(exc.messages)
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
    return assistant


def assistant_push_retry(*, assistant: Assistant) -> None:
    _push_enqueue(assistant)


def assistants_push_job(*, job_id: int) -> None:
    """Pushes every assistant of the job's agency again (after an outage, a new key), reporting each one."""
    from integrations.jobs import job_finish_without_file, job_for_task, job_progress, job_start

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


# --- Import and phone numbers --------------------------------------------------------------------


def vapi_assistants_list(*, agency: Agency) -> list[dict]:
    with _vapi(agency) as vapi:
        return vapi.list_assistants()


def _pick(value: str, allowed: list[str], default: str) -> str:
    return value if value in allowed else default


@transaction.atomic
def assistant_import(*, client: ClientAccount, vapi_id: str, author: User | None) -> Assistant:
    """Adopts an assistant from the agency's Vapi org; the first push then attaches our server and tools."""
    from .models import LANGUAGE_CHOICES

    if Assistant.objects.filter(client__agency=client.agency, vapi_id=vapi_id).exists():
        raise ValidationError("This Vapi assistant is already attached to a client.")
    with _vapi(client.agency) as vapi:
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


def phone_numbers_sync(*, agency: Agency) -> list[PhoneNumber]:
    """Mirrors the Vapi org's numbers locally, keeping which assistant each one answers with."""
    with _vapi(agency) as vapi:
        remote = vapi.list_phone_numbers()
    by_vapi_id = {a.vapi_id: a for a in Assistant.objects.filter(client__agency=agency).exclude(vapi_id="")}
    numbers = []
    for item in remote:
        number, _ = PhoneNumber.objects.update_or_create(
            agency=agency,
            vapi_id=item["id"],
            defaults={
                "number": item.get("number") or item.get("sipUri") or "",
                "name": item.get("name") or "",
                "assistant": by_vapi_id.get(item.get("assistantId") or ""),
            },
        )
        numbers.append(number)
    PhoneNumber.objects.filter(agency=agency).exclude(vapi_id__in=[n.vapi_id for n in numbers]).delete()
    return numbers


def phone_number_assign(*, phone_number: PhoneNumber, assistant: Assistant | None) -> PhoneNumber:
    """Points the number at the assistant (or at our assistant-request answer when None) in Vapi, then here."""
    from voice.vapi.client import VapiError

    agency = phone_number.agency
    if assistant is not None:
        if assistant.client.agency_id != agency.pk:
            raise ValidationError("That assistant belongs to another agency.")
        if not assistant.vapi_id:
            raise ValidationError("Push the assistant to Vapi before assigning it a number.")
    account, _ = vapi_account_ensure(agency=agency)
    payload = {
        "assistantId": assistant.vapi_id if assistant else None,
        "server": {"url": vapi_endpoint_url(agency=agency), "headers": {"X-Vapi-Secret": account.webhook_secret}},
    }
    try:
        with _vapi(agency) as vapi:
            vapi.update_phone_number(phone_number_id=phone_number.vapi_id, payload=payload)
    except VapiError as exc:
        raise ValidationError(f"Vapi refused the change: {exc.message}") from exc
    phone_number.assistant = assistant
    phone_number.save(update_fields=["assistant"])
    return phone_number


def phone_numbers_server_refresh(*, agency_id: int) -> None:
    """Re-sends each number's server (URL and secret), e.g. after the secret was rotated."""
    agency = Agency.objects.get(pk=agency_id)
    for number in PhoneNumber.objects.filter(agency=agency).select_related("assistant__client"):
        try:
            phone_number_assign(phone_number=number, assistant=number.assistant)
        except ValidationError as exc:
            # One refused number must not stop the others; assigning it again from the numbers page retries.
            logger.warning("Phone number %s of agency %s kept its old server: %s", number.vapi_id, agency.slug, exc)


def assistants_import_job(*, job_id: int) -> None:
    """Imports every assistant of the Vapi org not yet attached into the job's client, reporting each one."""
    from integrations.jobs import job_fail, job_finish_without_file, job_for_task, job_progress, job_start
    from voice.vapi.client import VapiError

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
